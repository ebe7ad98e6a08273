// `lisa train CONFIG [--set key.path=value ...] [--resume] [--dry-run]`: progress bar on a terminal, plain lines otherwise;
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
import { dryRun } from '../train/dry-run.js';
import { formatDryRun } from './dry-run.js';

const fmt = (x: number, d = 4) => (Number.isFinite(x) ? x.toFixed(d) : String(x));

export function registerTrain(program: Command): void {
  program.command('train')
    .description('fine-tune a model with LISA, LoRA or full fine-tuning from a YAML/JSON config')
    .argument('<config>', 'YAML or JSON config file')
    .option('--set <assignment...>', 'override a config key, e.g. --set optim.lr=1e-4 train.steps=50', [])
    .option('--resume', 'continue from the checkpoint in the output folder', false)
    .option('--overwrite', 'replace the results of a previous run in the output folder', false)
    .option('--dry-run', 'print the resolved config, data summary, trainable parameters, memory estimate and 2 timed steps; write nothing', false)
    .action(async (path: string, o: { set: string[]; resume: boolean; overwrite: boolean; dryRun: boolean }) => {
      const cfg = loadConfig(path, o.set);
      if (o.dryRun) {
        const report = await dryRun(cfg, (msg) => process.stderr.write(`warning: ${msg}\n`));
        process.stdout.write(formatDryRun(report, path));
        return;
      }
      const tty = process.stdout.isTTY && !process.env.CI;
      // forceRedraw: the bar is drawn again after a line printed above it even when its text did not change.
      const bar = tty ? new cliProgress.SingleBar({
        format: 'train |{bar}| {value}/{total} steps | loss {loss} | lr {lr} | {tps} tok/s{blocks} | ETA {eta_formatted}',
        forceRedraw: true,
      }, cliProgress.Presets.shades_classic) : null;
      const interrupts = watchInterrupts();
      const line = (s: string) => (bar ? bar.updateETA() : process.stdout.write(`${s}\n`));
      // A line that stays, printed above the bar on a terminal (as tqdm.write does): clear the bar's line, print, save
      // the cursor there (the bar's stop() restores the position saved at its start), redraw.
      const above = (s: string) => {
        if (!bar) return void process.stdout.write(`${s}\n`);
        process.stdout.write(`\r\x1B[2K${s}\n\x1B7`);
        bar.render();
      };
      let blocks: number[] | undefined;
      try {
        const r = await train(cfg, {
          resume: o.resume,
          overwrite: o.overwrite,
          shouldStop: () => interrupts.pending() !== null,
          onStart: (i) => {
            process.stdout.write(`lisa train: ${cfg.method.kind} on ${i.trainExamples} examples (${i.evalExamples} held out), steps ${i.startStep + 1}..${i.totalSteps}, output ${cfg.out}\n`);
            bar?.start(i.totalSteps, i.startStep, { loss: '-', lr: '-', tps: '-', blocks: '' });
          },
          onStep: (m: StepMetrics, total) => {
            const active = m.activeLayers;
            if (active && active.join(',') !== blocks?.join(',')) {
              above(blocks ? `LISA switch at step ${m.step}: active blocks [${active.join(', ')}] (were [${blocks.join(', ')}])` : `LISA active blocks [${active.join(', ')}] from step ${m.step}`);
              blocks = active;
            }
            if (bar) bar.update(m.step, { loss: fmt(m.loss), lr: m.lr.toExponential(2), tps: m.tokensPerSec.toFixed(0), blocks: active ? ` | blocks ${active.join(',')}` : '' });
            else if (m.step % cfg.train.logEvery === 0 || m.step === total || m.step === 1) {
              line(`step ${m.step}/${total} loss ${fmt(m.loss)} lr ${m.lr.toExponential(3)} grad-norm ${fmt(m.gradNorm, 3)} ${m.tokensPerSec.toFixed(0)} tok/s${m.activeLayers ? ` active [${m.activeLayers.join(',')}]` : ''}`);
            }
          },
          onWarning: (msg) => process.stderr.write(`warning: ${msg}\n`),
          onPhase: (phase, step) => {
            if (!bar) line(phase === 'save' ? `saving checkpoint at step ${step}` : phase === 'eval' ? `evaluating at step ${step}` : `exporting the result of step ${step}`);
          },
          onEval: (step, e) => above(`eval @ step ${step}: loss ${fmt(e.loss)} perplexity ${fmt(e.perplexity, 2)} (${e.tokens} tokens)`),
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
