// `lisa compare CONFIG [--seeds N] [--methods a,b] [--out DIR] [--overwrite]`: the same base, data and steps
// under several methods and seeds, then results.json, report.md and report.html. Ctrl-C stops the running run
// with a checkpoint; the same command again keeps finished runs and resumes the interrupted one.
import type { Command } from 'commander';
import { loadCompareConfig } from '../compare/config.js';
import { runCompare } from '../compare/run.js';
import { collectResults, modelConfigOf } from '../compare/results.js';
import { judgeClaims } from '../compare/claims.js';
import { writeCompareReport } from '../compare/report.js';
import { prepareBase } from '../compare/base.js';
import { collectNorms } from '../compare/norms.js';
import { signalExitCode, watchInterrupts } from '../train/interrupt.js';
import { ArgumentError } from '../util/errors.js';
import { CliExit } from './exit.js';

interface CompareCliOptions { seeds?: string; methods: string[]; out?: string; overwrite: boolean }

export function registerCompare(program: Command): void {
  program.command('compare')
    .description('run several fine-tuning methods from the same base on the same data over seeds, and report loss, memory and speed')
    .argument('<config>', 'a lisa train config (YAML/JSON) with a compare section (seeds, methods)')
    .option('--seeds <n>', 'number of seeds (train.seed, +1, ...), overriding compare.seeds')
    .option('--methods <names...>', 'methods to run, by name (comma lists allowed), overriding compare.methods', [])
    .option('--out <dir>', 'output folder, overriding the config\'s out')
    .option('--overwrite', 'start every run afresh, replacing earlier results in the output folder', false)
    .action(async (path: string, o: CompareCliOptions) => {
      if (o.seeds !== undefined && !/^\d+$/.test(o.seeds.trim())) throw new ArgumentError(`--seeds must be an integer >= 1, got '${o.seeds}'`);
      const plan = loadCompareConfig(path, {
        seeds: o.seeds === undefined ? undefined : Number(o.seeds),
        methods: o.methods.flatMap((m) => m.split(',')).map((m) => m.trim()).filter(Boolean),
        out: o.out,
      });
      process.stdout.write(`lisa compare: ${plan.methods.map((x) => x.name).join(', ')} x seeds ${plan.seeds.join(', ')} (${plan.runs.length} runs), output ${plan.out}\n`);
      const interrupts = watchInterrupts();
      let outcome: 'done' | 'interrupted';
      let sig: NodeJS.Signals | null = null;
      try {
        outcome = await runCompare(plan, {
          overwrite: o.overwrite,
          shouldStop: () => interrupts.pending() !== null,
          onRun: (run, how, i, n) => process.stdout.write(`[${i + 1}/${n}] ${run.method} seed ${run.seed}: ${how === 'kept' ? 'finished earlier, kept' : how === 'resume' ? 'resuming from its checkpoint' : 'training'} (${run.dir})\n`),
          onStep: (run, s, total) => {
            if (s.step % run.config.train.logEvery === 0 || s.step === total) {
              process.stdout.write(`  ${run.method} seed ${run.seed} step ${s.step}/${total} loss ${s.loss.toFixed(4)}${s.evalLoss !== undefined ? ` eval ${s.evalLoss.toFixed(4)}` : ''}\n`);
            }
          },
          onWarning: (msg) => process.stderr.write(`warning: ${msg}\n`),
        });
        sig = interrupts.pending();
      } finally {
        interrupts.dispose();
      }
      if (outcome === 'interrupted' && sig) {
        const again = ['lisa compare', path, ...(o.seeds ? [`--seeds ${o.seeds}`] : []), ...(o.methods.length ? [`--methods ${o.methods.join(',')}`] : []), ...(o.out ? [`--out ${o.out}`] : [])];
        process.stdout.write(`interrupted (${sig}): finished runs are kept and the current one has a checkpoint; continue with:\n  ${again.join(' ')}\n`);
        throw new CliExit(signalExitCode(sig));
      }
      const baseDir = await prepareBase(plan.base);
      const results = collectResults(plan, modelConfigOf(baseDir), collectNorms(plan, baseDir));
      const claims = judgeClaims(results);
      const paths = await writeCompareReport(plan.out, { results, claims });
      for (const c of claims) process.stdout.write(`${c.sentence}\n`);
      process.stdout.write(`results: ${paths.results}\nreport: ${paths.md}\nreport: ${paths.html}\n`);
    });
}
