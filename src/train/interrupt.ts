// Stop requests while training: SIGINT/SIGTERM set a flag the trainer reads between steps. The addon's handler
// sees signals even while a step computes synchronously, so a second interrupt exits at once; without the
// addon, Node's handlers run between steps (the trainer yields to the event loop there).
import { constants } from 'node:os';
import { loadNativeBackend, nativeAddon } from '../backends/cpu-native.js';

export interface InterruptWatch {
  /** The signal received since the watch began (e.g. 'SIGINT'), or null. */
  pending(): NodeJS.Signals | null;
  /** Gives SIGINT and SIGTERM back to their previous handlers. */
  dispose(): void;
}

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** The conventional exit code of a process stopped by this signal (130 for SIGINT, 143 for SIGTERM). */
export function signalExitCode(sig: NodeJS.Signals): number {
  return 128 + constants.signals[sig];
}

export function watchInterrupts(): InterruptWatch {
  if (loadNativeBackend()) {
    const addon = nativeAddon();
    addon.interruptInstall();
    return {
      pending: () => SIGNALS.find((s) => constants.signals[s] === addon.interruptPending()) ?? null,
      dispose: () => addon.interruptRestore(),
    };
  }
  let received: NodeJS.Signals | null = null;
  const onSignal = (sig: NodeJS.Signals) => {
    if (received) {
      process.stderr.write('\nlisa: interrupted again: exiting now; the last complete checkpoint is kept\n');
      process.exit(signalExitCode(sig));
    }
    received = sig;
    process.stderr.write('\nlisa: stopping after the current step and saving a checkpoint (interrupt again to exit at once)\n');
  };
  for (const s of SIGNALS) process.on(s, onSignal);
  return {
    pending: () => received,
    dispose: () => { for (const s of SIGNALS) process.off(s, onSignal); },
  };
}
