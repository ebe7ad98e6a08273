// The last line a failed command prints: a typed error's own message (it names the file, key or tensor), or,
// for an internal error, what the user ran and what to change (out of memory) or how to report it (a bug).
import { LisaError } from '../util/errors.js';

/** True for the errors V8 throws when a buffer cannot be allocated. */
function isOutOfMemory(e: Error): boolean {
  return e instanceof RangeError && /Array buffer allocation failed|Invalid typed array length|Invalid array buffer length/.test(e.message);
}

export function errorMessage(e: unknown, argv: readonly string[]): string {
  const command = `lisa ${argv.join(' ')}`.trim();
  if (e instanceof LisaError) return `lisa: ${e.name}: ${e.message}`;
  const err = e instanceof Error ? e : new Error(String(e));
  if (isOutOfMemory(err)) {
    return `lisa: out of memory: \`${command}\` needed a buffer larger than this machine can allocate (${err.message}). ` +
      'Make the step smaller (train.batchSize with train.gradAccum, data.maxLength), or the state (train.weightDtype: bfloat16, ' +
      'train.gradientCheckpointing: true, optim.updateInBackward: true, a LISA or LoRA method); `lisa memory` estimates each choice';
  }
  if (err.name === 'Error') return `lisa: ${err.message}`; // a plain Error (fs and the like) says what failed
  return `lisa: internal error in \`${command}\`: ${err.name}: ${err.message}. This is a bug in lisa-tune, not in your input; ` +
    'please report it with the output of the same command run with LISA_DEBUG=1';
}
