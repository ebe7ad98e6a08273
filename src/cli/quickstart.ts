// `lisa quickstart [--out DIR] [--steps-pretrain N] [--pretrain-target LOSS] [--steps-finetune N] [--seed S]`: the synthetic arithmetic
// run end to end (pretrain a small Llama, fine-tune it with LISA, report eval loss, accuracy and samples).
import { InvalidArgumentError, type Command } from 'commander';
import { QUICKSTART_DEFAULTS, formatQuickstartSummary, runQuickstart } from '../train/quickstart.js';

const intArg = (flag: string, min: number) => (v: string): number => {
  const x = Number(v);
  if (v.trim() === '' || !Number.isSafeInteger(x) || x < min) throw new InvalidArgumentError(`${flag} must be an integer >= ${min}, got '${v}'`);
  return x;
};

const lossArg = (flag: string) => (v: string): number => {
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x) || x < 0) throw new InvalidArgumentError(`${flag} must be a number >= 0, got '${v}'`);
  return x;
};

interface QuickstartArgs { out: string; stepsPretrain: number; pretrainTarget: number; stepsFinetune: number; seed: number }

export function registerQuickstart(program: Command): void {
  const d = QUICKSTART_DEFAULTS;
  program.command('quickstart')
    .description('pretrain a small Llama on a generated arithmetic task, fine-tune it with LISA and report the results (no downloads)')
    .option('--out <dir>', 'output folder (tokenizer, data, configs, models, results.json)', 'lisa-quickstart')
    .option('--steps-pretrain <n>', 'stage 1 (full training from scratch): the most steps it may run', intArg('--steps-pretrain', 1), d.stepsPretrain)
    .option('--pretrain-target <loss>', 'stage 1 stops once the answer loss on held-out validation problems is at most this (0: run all --steps-pretrain)',
      lossArg('--pretrain-target'), d.pretrainTarget)
    .option('--steps-finetune <n>', 'stage 2 steps (LISA fine-tuning)', intArg('--steps-finetune', 1), d.stepsFinetune)
    .option('--seed <s>', 'seed of the task, the initial weights and the data order', intArg('--seed', 0), d.seed)
    .action(async (o: QuickstartArgs) => {
      const log = (s: string) => process.stdout.write(`${s}\n`);
      log(`lisa quickstart: output in ${o.out}`);
      const r = await runQuickstart({ out: o.out, stepsPretrain: o.stepsPretrain, pretrainTarget: o.pretrainTarget, stepsFinetune: o.stepsFinetune, seed: o.seed, log });
      log(formatQuickstartSummary(r));
    });
}
