// `lisa generate --model DIR --prompt TEXT [...]`: loads an HF folder and its tokenizer and streams the
// prompt's continuation to stdout (greedy with --temperature 0, else seeded sampling with top-k/top-p); --chat
// talks through the model's chat template instead (chat.ts).
import { InvalidArgumentError, type Command } from 'commander';
import { loadModel } from '../models/load.js';
import { generate } from '../models/generate.js';
import { loadTokenizer } from '../data/tokenizer.js';
import { resolveModel } from '../io/hub.js';
import { ArgumentError } from '../util/errors.js';
import { runChat } from './chat.js';

interface GenerateArgs {
  model: string; prompt?: string; chat: boolean; system?: string; maxNewTokens: number; temperature: number; topK: number; topP: number; seed?: number;
}

/** Commander parsers: a finite number (or integer) >= min, with an error naming the option. */
const parseNumberArg = (flag: string, min: number) => (v: string): number => {
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x) || x < min) throw new InvalidArgumentError(`${flag} must be a number >= ${min}, got '${v}'`);
  return x;
};
const parseIntArg = (flag: string, min: number) => (v: string): number => {
  const x = parseNumberArg(flag, min)(v);
  if (!Number.isSafeInteger(x)) throw new InvalidArgumentError(`${flag} must be an integer >= ${min}, got '${v}'`);
  return x;
};

const parseTopP = (v: string): number => {
  const x = Number(v);
  if (v.trim() === '' || !(x > 0 && x <= 1)) throw new InvalidArgumentError(`--top-p must be in (0, 1] (1 = off), got '${v}'`);
  return x;
};

const ids = (v: unknown): number[] => (typeof v === 'number' ? [v] : Array.isArray(v) ? v.filter((x): x is number => typeof x === 'number') : []);

export function registerGenerate(program: Command): void {
  program.command('generate')
    .description('continue a prompt with a model (streams the text)')
    .requiredOption('--model <dir>', 'HF model folder with tokenizer files, or a hub id (org/name)')
    .option('--prompt <text>', 'text to continue (empty: start from BOS); with --chat, one user message')
    .option('--chat', "chat through the model's chat template: turns from the terminal, or one message per line of stdin", false)
    .option('--system <text>', 'with --chat: the system prompt')
    .option('--max-new-tokens <n>', 'tokens to generate at most', parseIntArg('--max-new-tokens', 0), 256)
    .option('--temperature <t>', '0 = greedy; higher = more random', parseNumberArg('--temperature', 0), 1)
    .option('--top-k <k>', 'sample from the k most likely tokens (0 = off)', parseIntArg('--top-k', 0), 0)
    .option('--top-p <p>', 'sample from the smallest set with this probability (1 = off)', parseTopP, 1)
    .option('--seed <s>', 'sampling seed (default: random)', parseIntArg('--seed', 0))
    .action(async (o: GenerateArgs) => {
      const dir = await resolveModel(o.model);
      const { model, generationConfig } = loadModel(dir);
      try {
        const tok = loadTokenizer(dir);
        const eos = new Set([...ids(generationConfig?.eos_token_id), ...ids(model.config.eosTokenId), ...(tok.eosId !== null ? [tok.eosId] : [])]);
        const seed = o.seed ?? Math.floor(Math.random() * 2 ** 31);
        if (o.chat) {
          await runChat(model, tok, { ...o, seed, eosIds: [...eos] });
          return;
        }
        if (o.system !== undefined) throw new ArgumentError('--system needs --chat');
        let prompt = tok.encode(o.prompt ?? '');
        // An empty prompt starts from BOS (or, for models without one such as GPT-2, from the end-of-text token).
        const start = tok.bosId ?? tok.eosId;
        if (prompt.length === 0 && start !== null) prompt = [start];
        const stream = tok.streamDecoder({ skipSpecialTokens: true });
        // The prompt's text is printed once generation is under way, so a bad argument fails before any output.
        let started = false;
        const begin = () => {
          if (started) return;
          started = true;
          process.stdout.write(prompt.map((id) => stream.push(id)).join(''));
        };
        generate(model, prompt, {
          maxNewTokens: o.maxNewTokens, temperature: o.temperature,
          topK: o.topK, topP: o.topP, seed, eosIds: [...eos],
          onToken: (id) => {
            begin();
            process.stdout.write(stream.push(id));
          },
        });
        begin();
        process.stdout.write(`${stream.flush()}\n`);
      } finally {
        model.dispose();
      }
    });
}
