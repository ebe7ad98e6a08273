// The quickstart's synthetic task: templated two-number arithmetic Q&A (deterministic per seed, with held-out
// splits), its pretraining and instruction renderings, and a character-level tokenizer.json built in code.
import { Rng } from '../util/rng.js';
import { ArgumentError } from '../util/errors.js';
import { addedToken, templateProcessing, type TokenizerFiles } from './tokenizer-convert-common.js';
import { IGNORE_INDEX, type Example } from './example.js';
import type { Tokenizer } from './tokenizer.js';

export type ArithmeticOp = '+' | '-';

/** One problem: a op b = answer, asked with question template `template`. */
export interface ArithmeticProblem { a: number; b: number; op: ArithmeticOp; answer: number; template: number }

export interface ArithmeticTask {
  train: ArithmeticProblem[];
  /** Held out from both training stages: used for eval loss and exact-match accuracy. */
  test: ArithmeticProblem[];
}

export interface ArithmeticTaskOptions {
  seed: number;
  /** Operands range over minOperand..maxOperand (default 10..99; subtraction keeps a >= b, so answers are never negative). */
  minOperand?: number;
  maxOperand?: number;
  /** Problems held out for the test split. */
  testSize?: number;
}

/** Question phrasings; {a} and {b} are the operands, {op} is '+' or '-', {word} is 'plus' or 'minus'. */
export const QUESTION_TEMPLATES = [
  'What is {a} {op} {b}?',
  'Compute {a} {op} {b}.',
  'What is {a} {word} {b}?',
  'Calculate {a} {op} {b}.',
] as const;

export const SPECIAL_TOKENS = { pad: '<pad>', bos: '<s>', eos: '</s>', unk: '<unk>' } as const;

/**
 * Every problem with operands in minOperand..maxOperand ('+' for all pairs, '-' for a >= b), shuffled by the seed and
 * split into train and a held-out test set; each problem gets a seeded question template.
 */
export function makeArithmeticTask(opts: ArithmeticTaskOptions): ArithmeticTask {
  const min = opts.minOperand ?? 10;
  const max = opts.maxOperand ?? 99;
  if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || min < 0 || max <= min) {
    throw new ArgumentError(`operands: expected integers 0 <= minOperand < maxOperand, got ${min}..${max}`);
  }
  const rng = new Rng(opts.seed);
  const all: ArithmeticProblem[] = [];
  for (let a = min; a <= max; a++) {
    for (let b = min; b <= max; b++) {
      all.push({ a, b, op: '+', answer: a + b, template: 0 });
      if (a >= b) all.push({ a, b, op: '-', answer: a - b, template: 0 });
    }
  }
  rng.shuffle(all);
  for (const p of all) p.template = rng.int(QUESTION_TEMPLATES.length);
  const testSize = opts.testSize ?? 200;
  if (!Number.isInteger(testSize) || testSize < 1 || testSize >= all.length) {
    throw new ArgumentError(`testSize must be an integer in 1..${all.length - 1}, got ${testSize}`);
  }
  return { test: all.slice(0, testSize), train: all.slice(testSize) };
}

/** The question text, e.g. "What is 23 + 58?". */
export function questionText(p: ArithmeticProblem): string {
  return QUESTION_TEMPLATES[p.template].replace('{a}', String(p.a)).replace('{b}', String(p.b))
    .replace('{op}', p.op).replace('{word}', p.op === '+' ? 'plus' : 'minus');
}

/** The bare equation, e.g. "23 + 58 = 81". */
export function equationText(p: ArithmeticProblem): string {
  return `${p.a} ${p.op} ${p.b} = ${p.answer}`;
}

/** The expected answer to a question, e.g. "81". */
export function answerText(p: ArithmeticProblem): string {
  return String(p.answer);
}

/**
 * The layouts a problem takes in the pretraining corpus, as arithmetic appears in web text: the bare equation and
 * three loose Q&A layouts ({q} is the question, {ans} the answer). None is the instruction format, which stage 2
 * teaches. The answer comes 4 characters after the question in two of them and 15 in the third: seeing the
 * operands at several distances from the answer makes the model find them by content rather than by a fixed
 * offset (RoPE attends by relative position), so its arithmetic carries over to the instruction format, where
 * "\n### Answer: " puts them 13 characters back. With the short layouts alone, the units digit came out wrong
 * after stage 2 for some seeds.
 */
export const PRETRAIN_FORMS = ['{eq}', 'Q: {q} A: {ans}', 'Q: {q}\nA: {ans}', '{q} The answer is {ans}'] as const;

/** The pretraining text of a problem in layout `form` (an index into PRETRAIN_FORMS). */
export function pretrainText(p: ArithmeticProblem, form = 0): string {
  const f = PRETRAIN_FORMS[form];
  if (f === undefined) throw new ArgumentError(`pretrainText: form must be 0..${PRETRAIN_FORMS.length - 1}, got ${form}`);
  return f.replace('{eq}', equationText(p)).replace('{q}', questionText(p)).replace('{ans}', answerText(p));
}

/** The instruction prompt, ending where the answer starts. */
export function instructionPrompt(question: string): string {
  return `### Question: ${question}\n### Answer: `;
}

/** Every character the task's texts can contain (digits, the templates, the formats), sorted. */
export function taskCharacters(): string[] {
  const texts = [...QUESTION_TEMPLATES, ...PRETRAIN_FORMS, instructionPrompt(''), '0123456789', '+-= plusminus'];
  return [...new Set(texts.join('').replace(/\{(a|b|op|word|eq|q|ans)\}/g, ''))].sort();
}

/**
 * A character-level tokenizer.json (a BPE model with no merges: one token per character, so it loads in HF
 * tokenizers and @huggingface/tokenizers alike), with <pad>, <s>, </s>, <unk> as ids 0..3 and <s> added in front.
 */
export function charTokenizerFiles(chars: readonly string[] = taskCharacters(), maxLength = 128): TokenizerFiles {
  const specials = [SPECIAL_TOKENS.pad, SPECIAL_TOKENS.bos, SPECIAL_TOKENS.eos, SPECIAL_TOKENS.unk];
  const vocab: Record<string, number> = {};
  specials.forEach((t, i) => (vocab[t] = i));
  for (const c of chars) {
    if ([...c].length !== 1) throw new ArgumentError(`charTokenizerFiles: '${c}' is not one character`);
    if (vocab[c] === undefined) vocab[c] = Object.keys(vocab).length;
  }
  return {
    tokenizerJson: {
      version: '1.0', truncation: null, padding: null,
      added_tokens: specials.map((t, i) => addedToken(i, t)),
      normalizer: null, pre_tokenizer: null,
      post_processor: templateProcessing([SPECIAL_TOKENS.bos, 1], null),
      decoder: { type: 'Fuse' },
      model: {
        type: 'BPE', dropout: null, unk_token: SPECIAL_TOKENS.unk, continuing_subword_prefix: null, end_of_word_suffix: null,
        fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: [],
      },
    },
    tokenizerConfig: {
      tokenizer_class: 'PreTrainedTokenizerFast', bos_token: SPECIAL_TOKENS.bos, eos_token: SPECIAL_TOKENS.eos,
      pad_token: SPECIAL_TOKENS.pad, unk_token: SPECIAL_TOKENS.unk, add_bos_token: true, add_eos_token: false,
      clean_up_tokenization_spaces: false, model_max_length: maxLength,
      chat_template: "{% for m in messages %}{% if m['role'] == 'user' %}{{ '### Question: ' + m['content'] + '\\n### Answer: ' }}" +
        "{% elif m['role'] == 'assistant' %}{{ m['content'] + eos_token }}{% endif %}{% endfor %}",
    },
  };
}

function eosOf(tok: Tokenizer): number {
  if (tok.eosId === null) throw new ArgumentError(`${tok.source}: the tokenizer has no end-of-sequence token`);
  return tok.eosId;
}

/** "<s>23 + 58 = 81</s>" (or another layout), every token a target. */
export function pretrainExample(tok: Tokenizer, p: ArithmeticProblem, form = 0): Example {
  const ids = [...tok.encode(pretrainText(p, form)), eosOf(tok)];
  return { ids, labels: [...ids] };
}

/**
 * The pretraining text of a problem with only the answer and </s> as targets: a held-out check of the arithmetic
 * itself (the operands and the question text are unpredictable or trivial, and would blur it).
 */
export function pretrainAnswerExample(tok: Tokenizer, p: ArithmeticProblem, form = 0): Example {
  const text = pretrainText(p, form);
  const answer = answerText(p);
  if (!text.endsWith(answer)) throw new ArgumentError(`pretrainAnswerExample: form ${form} does not end with the answer`);
  const prompt = tok.encode(text.slice(0, text.length - answer.length));
  const rest = [...tok.encode(answer, { addSpecialTokens: false }), eosOf(tok)];
  return { ids: [...prompt, ...rest], labels: [...prompt.map(() => IGNORE_INDEX), ...rest] };
}

/** "<s>### Question: ...\n### Answer: 81</s>" with the prompt masked (labels -100), so only the answer trains. */
export function instructionExample(tok: Tokenizer, p: ArithmeticProblem): Example {
  const prompt = tok.encode(instructionPrompt(questionText(p)));
  const answer = [...tok.encode(answerText(p), { addSpecialTokens: false }), eosOf(tok)];
  return { ids: [...prompt, ...answer], labels: [...prompt.map(() => IGNORE_INDEX), ...answer] };
}

/** Pre-tokenized JSONL text ({"input_ids", "labels"} per line) for `data.format: pretokenized`. */
export function toPretokenizedJsonl(examples: readonly Example[]): string {
  return examples.map((e) => JSON.stringify({ input_ids: e.ids, labels: e.labels })).join('\n') + '\n';
}
