// `lisa eval --model DIR --data FILE [--format auto] [--json]`: mean next-token cross-entropy and perplexity of a
// model folder on a data file (the answer tokens of instruction and chat data, masked as in training); `--task
// NAME` runs a downstream task evaluator instead.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { loadModel } from '../models/load.js';
import { loadTokenizer, type Tokenizer } from '../data/tokenizer.js';
import { resolveModel } from '../io/hub.js';
import { evalLm, LM_EVAL_FORMATS, type LmEvalFormat } from '../train/eval-lm.js';
import { EVAL_TASKS, EVAL_TASK_NAMES, type EvalTaskName } from '../train/eval-tasks.js';

interface EvalArgs {
  model: string; data: string; format: LmEvalFormat; task?: EvalTaskName; batchSize: number; maxLength?: number;
  limit?: number; json: boolean;
}

const positiveInt = (flag: string) => (v: string): number => {
  const x = Number(v);
  if (v.trim() === '' || !Number.isSafeInteger(x) || x < 1) throw new InvalidArgumentError(`${flag} must be a positive integer, got '${v}'`);
  return x;
};

export function registerEval(program: Command): void {
  program.command('eval')
    .description('evaluate a model: mean next-token cross-entropy and perplexity on a data file')
    .requiredOption('--model <dir>', 'HF model folder or hub id (tokenizer files are needed only by text formats and tasks)')
    .requiredOption('--data <file>', 'data file')
    .addOption(new Option('--format <format>', 'data format (auto: detected from the file, as in training)').choices([...LM_EVAL_FORMATS]).default('auto'))
    .addOption(new Option('--task <name>', 'run a downstream task instead of the loss').choices([...EVAL_TASK_NAMES]))
    .option('--batch-size <n>', 'rows per forward pass', positiveInt('--batch-size'), 8)
    .option('--max-length <n>', 'truncate rows to n tokens', positiveInt('--max-length'))
    .option('--limit <n>', 'evaluate only the first n rows', positiveInt('--limit'))
    .option('--json', 'print one JSON object', false)
    .action(async (o: EvalArgs) => {
      const dir = await resolveModel(o.model);
      const { model } = loadModel(dir);
      let tokenizer: Tokenizer | null = null;
      const getTokenizer = () => (tokenizer ??= loadTokenizer(dir));
      try {
        if (o.task !== undefined) {
          const metrics = await EVAL_TASKS[o.task]({ model, tokenizer: getTokenizer(), path: o.data, limit: o.limit });
          process.stdout.write(o.json ? `${JSON.stringify({ task: o.task, ...metrics })}\n`
            : `${o.task}: ${Object.entries(metrics).map(([k, v]) => `${k} ${v}`).join(', ')}\n`);
          return;
        }
        const r = evalLm(model, o.data, {
          format: o.format, batchSize: o.batchSize, maxLength: o.maxLength, limit: o.limit, tokenizer: getTokenizer,
        });
        process.stdout.write(o.json ? `${JSON.stringify({ loss: r.loss, perplexity: r.perplexity, tokens: r.tokens })}\n`
          : `${o.data}: loss ${r.loss.toFixed(6)} (nats/token), perplexity ${r.perplexity.toFixed(4)}, ${r.tokens} tokens\n`);
      } finally {
        model.dispose();
      }
    });
}
