// `lisa train CONFIG [--set key.path=value ...] [--resume]`: progress bar on a terminal, plain lines otherwise;
// Ctrl-C (or SIGTERM) stops after the current step, saves a checkpoint and exits with 128+signal; OUT/report.html
// charts the run's logs at the end (and at an interrupt).
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { loadConfig } from '../train/config.js';
import { findCheckpoint } from '../train/checkpoint.js';
import { train, type StepMetrics } from '../train/trainer.js';
import { signalExitCode, watchInterrupts } from '../train/interrupt.js';
import { writeRunReport } from '../report/run-report.js';
import { CliExit } from './exit.js';

const fmt = (x: number, d = 4) => (Number.isFinite(x) ? x.toFixed(d) : String(x));

export function registerTrain(program: Command): void {
  program.command('train')
    .description('fine-tune a model with LISA, LoRA or full fine-tuning from a YAML/JSON config')
    .argument('<config>', 'YAML or JSON config file')
    .option('--set <assignment...>', 'override a config key, e.g. --set optim.lr=1e-4 train.steps=50', [])
    .option('--resume', 'continue from the checkpoint in the output folder', false)
    .option('--overwrite', 'replace the results of a previous run in the output folder', false)
    .action(async (path: string, o: { set: string[]; resume: boolean; overwrite: boolean }) => {
      const cfg = loadConfig(path, o.set);
      const tty = process.stdout.isTTY && !process.env.CI;
      const bar = tty ? new cliProgress.SingleBar({
        format: 'train |{bar}| {value}/{total} steps | loss {loss} | lr {lr} | {tps} tok/s | ETA {eta_formatted}',
      }, cliProgress.Presets.shades_classic) : null;
      const interrupts = watchInterrupts();
      const line = (s: string) => (bar ? bar.updateETA() : process.stdout.write(`${s}\n`));
      try {
        const r = await train(cfg, {
          resume: o.resume,
          overwrite: o.overwrite,
          shouldStop: () => interrupts.pending() !== null,
          onStart: (i) => {
            process.stdout.write(`lisa train: ${cfg.method.kind} on ${i.trainExamples} examples (${i.evalExamples} held out), steps ${i.startStep + 1}..${i.totalSteps}, output ${cfg.out}\n`);
            bar?.start(i.totalSteps, i.startStep, { loss: '-', lr: '-', tps: '-' });
          },
          onStep: (m: StepMetrics, total) => {
            if (bar) bar.update(m.step, { loss: fmt(m.loss), lr: m.lr.toExponential(2), tps: m.tokensPerSec.toFixed(0) });
            else if (m.step % cfg.train.logEvery === 0 || m.step === total || m.step === 1) {
              line(`step ${m.step}/${total} loss ${fmt(m.loss)} lr ${m.lr.toExponential(3)} grad-norm ${fmt(m.gradNorm, 3)} ${m.tokensPerSec.toFixed(0)} tok/s${m.activeLayers ? ` active [${m.activeLayers.join(',')}]` : ''}`);
            }
          },
          onWarning: (msg) => process.stderr.write(`warning: ${msg}\n`),
          onPhase: (phase, step) => {
            if (!bar) line(phase === 'save' ? `saving checkpoint at step ${step}` : phase === 'eval' ? `evaluating at step ${step}` : `exporting the result of step ${step}`);
          },
          onEval: (step, e) => { if (!bar) line(`eval @ step ${step}: loss ${fmt(e.loss)} perplexity ${fmt(e.perplexity, 2)} (${e.tokens} tokens)`); },
        });
        bar?.stop();
        const report = await writeRunReport(cfg.out);
        const sig = interrupts.pending();
        if (r.stopped === 'interrupted' && sig) {
          // The signal handler's notice moved the cursor below the bar, which stop() does not know: clear from the
          // cursor down, so the summary does not land among a stale redraw.
          if (bar) process.stdout.write('\x1B[J');
          const resume = `lisa train ${[path, ...o.set.map((a) => `--set ${a}`)].join(' ')} --resume`;
          process.stdout.write(r.steps > 0 && findCheckpoint(cfg.out)
            ? `interrupted (${sig}): checkpoint saved at step ${r.steps} in ${findCheckpoint(cfg.out)}; continue with:\n  ${resume}\n`
            : `interrupted (${sig}) before the first step; nothing to save\n`);
          throw new CliExit(signalExitCode(sig));
        } else {
          process.stdout.write(`done: ${r.steps} steps, last loss ${fmt(r.lastLoss)}${r.evalLoss !== undefined ? `, eval loss ${fmt(r.evalLoss)} (perplexity ${fmt(Math.exp(r.evalLoss), 2)})` : ''}\n`);
          process.stdout.write(`exported to ${r.exportDir}\nreport: ${report}\n`);
        }
      } finally {
        bar?.stop();
        interrupts.dispose();
      }
    });
}
