// The quickstart: a synthetic arithmetic task end to end on a fresh machine. A small Llama is pretrained from
// scratch on arithmetic text (full training), then fine-tuned with LISA on "### Question/### Answer" pairs with
// the prompt masked; it reports eval loss before and after, exact-match accuracy and sample generations.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify as toYaml } from 'yaml';
import {
  PRETRAIN_FORMS, answerText, pretrainAnswerExample, pretrainText, charTokenizerFiles, instructionExample, instructionPrompt, makeArithmeticTask, pretrainExample,
  questionText, toPretokenizedJsonl, type ArithmeticProblem,
} from '../data/synthetic.js';
import { tokenizerFromFiles, writeTokenizerFiles, type Tokenizer } from '../data/tokenizer.js';
import { loadModel, type CausalLM } from '../models/index.js';
import { generate } from '../models/generate.js';
import { nativeAvailable } from '../backends/index.js';
import { ArgumentError } from '../util/errors.js';
import { loadConfig } from './config.js';
import { evaluate } from './evaluate.js';
import { train, type StepMetrics } from './trainer.js';

/** The small Llama the quickstart pretrains (HF config.json names). */
export interface QuickstartModelSize {
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
}

export const QUICKSTART_MODEL: QuickstartModelSize = {
  hidden_size: 96, intermediate_size: 288, num_hidden_layers: 4, num_attention_heads: 4, num_key_value_heads: 2,
};

export interface QuickstartOptions {
  /** Output folder (created; earlier quickstart files in it are replaced). */
  out: string;
  /** Stage 1's step cap: it stops earlier once the held-out answer loss reaches `pretrainTarget`. */
  stepsPretrain?: number;
  /** Stage 1 stops at the first evaluation whose answer-token loss on the validation problems is <= this (0: never). */
  pretrainTarget?: number;
  stepsFinetune?: number;
  seed?: number;
  /** Operands range over minOperand..maxOperand (default 10..99). */
  minOperand?: number;
  maxOperand?: number;
  /** Problems held out of training for stage 1's stopping rule (disjoint from the test problems). */
  validationProblems?: number;
  /** Held-out problems: eval loss is measured on all of them, accuracy on the first `accuracyProblems`. */
  testProblems?: number;
  accuracyProblems?: number;
  /** Sample generations to show. */
  samples?: number;
  model?: Partial<QuickstartModelSize>;
  /** Batch sizes and learning rates (defaults in QUICKSTART_DEFAULTS). */
  hyper?: Partial<Record<'batchPretrain' | 'batchFinetune' | 'lrPretrain' | 'lrFinetune' | 'warmupPretrain' | 'evalEveryPretrain', number>>;
  /** Receives each progress line (default: none). */
  log?: (line: string) => void;
}

export const QUICKSTART_DEFAULTS = {
  stepsPretrain: 8000, pretrainTarget: 0.15, stepsFinetune: 500, seed: 0, minOperand: 10, maxOperand: 99, validationProblems: 100,
  testProblems: 200, accuracyProblems: 200, samples: 6,
  batchPretrain: 32, batchFinetune: 32, lrPretrain: 1e-3, lrFinetune: 1e-3, warmupPretrain: 100, evalEveryPretrain: 250,
} as const;

export interface SampleGeneration { question: string; answer: string; expected: string; correct: boolean }

export interface AccuracyResult { correct: number; total: number; accuracy: number }

export interface QuickstartResult {
  out: string;
  /** Stage 1 eval loss on the held-out problems' pretraining text, and accuracy completing "a + b = " greedily. */
  pretrain: {
    evalLoss: number; accuracy: AccuracyResult; seconds: number; dir: string;
    /** Steps run; the target and whether an evaluation reached it (stage 1 then stopped there). */
    steps: number; target: number; targetReached: boolean;
  };
  /** Stage 2 eval loss (answer tokens only) on held-out questions, before and after LISA; accuracy before and after. */
  finetune: { evalLossBefore: number; evalLossAfter: number; accuracyBefore: AccuracyResult; accuracy: AccuracyResult; seconds: number; dir: string };
  samples: SampleGeneration[];
  seconds: number;
}

const ANSWER_TOKENS = 6;

/** Greedy answer of the model to a prompt: the generated text up to the end token, trimmed. */
export function greedyAnswer(model: CausalLM, tok: Tokenizer, prompt: string, maxNewTokens = ANSWER_TOKENS): string {
  const eos = tok.eosId === null ? [] : [tok.eosId];
  const r = generate(model, tok.encode(prompt), { temperature: 0, maxNewTokens, eosIds: eos });
  return tok.decode(r.tokens, { skipSpecialTokens: true }).split('\n')[0].trim();
}

function accuracy(model: CausalLM, tok: Tokenizer, problems: readonly ArithmeticProblem[], prompt: (p: ArithmeticProblem) => string,
  expected: (p: ArithmeticProblem) => string): AccuracyResult {
  let correct = 0;
  for (const p of problems) if (greedyAnswer(model, tok, prompt(p)) === expected(p)) correct++;
  return { correct, total: problems.length, accuracy: problems.length ? correct / problems.length : NaN };
}

const equationPrompt = (p: ArithmeticProblem) => `${p.a} ${p.op} ${p.b} = `;
const questionPrompt = (p: ArithmeticProblem) => instructionPrompt(questionText(p));

function positiveInt(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 1) throw new ArgumentError(`quickstart: ${name} must be a positive integer, got ${v}`);
  return v;
}

const pct = (a: AccuracyResult) => `${(100 * a.accuracy).toFixed(1)}% (${a.correct}/${a.total})`;
const secs = (t0: number) => (performance.now() - t0) / 1000;
/** Lets the event loop run between long synchronous phases (signals, test-runner heartbeats). */
const breathe = () => new Promise<void>((res) => setImmediate(res));

/** Writes a generated config as YAML (so `lisa train FILE` reruns the stage) and loads it back through validation. */
function writeConfig(path: string, raw: Record<string, unknown>) {
  writeFileSync(path, `# Generated by \`lisa quickstart\`; rerun this stage with: lisa train ${path}\n${toYaml(raw)}`);
  return loadConfig(path);
}

function progress(log: (s: string) => void, label: string, every: number) {
  return {
    overwrite: true, // the quickstart regenerates its own folders
    onStep: (m: StepMetrics, total: number) => {
      if (m.step === 1 || m.step % every === 0 || m.step === total) {
        log(`  [${label}] step ${m.step}/${total} loss ${m.loss.toFixed(4)} lr ${m.lr.toExponential(2)} ${m.tokensPerSec.toFixed(0)} tok/s` +
          (m.activeLayers ? ` active blocks [${m.activeLayers.join(',')}]` : ''));
      }
    },
    onEval: (step: number, e: { loss: number }) => log(`  [${label}] eval @ step ${step}: loss ${e.loss.toFixed(4)}`),
  };
}

export async function runQuickstart(opts: QuickstartOptions): Promise<QuickstartResult> {
  const d = { ...QUICKSTART_DEFAULTS, ...opts.hyper };
  const log = opts.log ?? (() => {});
  const stepsPretrain = positiveInt('--steps-pretrain', opts.stepsPretrain ?? d.stepsPretrain);
  const stepsFinetune = positiveInt('--steps-finetune', opts.stepsFinetune ?? d.stepsFinetune);
  const target = opts.pretrainTarget ?? d.pretrainTarget;
  if (!(Number.isFinite(target) && target >= 0)) throw new ArgumentError(`quickstart: --pretrain-target must be a loss >= 0, got ${target}`);
  const seed = opts.seed ?? d.seed;
  if (!Number.isSafeInteger(seed)) throw new ArgumentError(`quickstart: --seed must be an integer, got ${seed}`);
  const size = { ...QUICKSTART_MODEL, ...opts.model };
  if (size.num_hidden_layers < 2) throw new ArgumentError('quickstart: the model needs at least 2 blocks (LISA trains 2 at a time)');
  const out = resolve(opts.out);
  const t0 = performance.now();
  if (!nativeAvailable()) log('note: the cpu-native addon is unavailable, so this runs on the pure-TypeScript backend and is much slower');

  // The task, the tokenizer and the data files.
  const task = makeArithmeticTask({ seed, minOperand: opts.minOperand ?? d.minOperand, maxOperand: opts.maxOperand ?? d.maxOperand, testSize: opts.testProblems ?? d.testProblems });
  const accProblems = task.test.slice(0, opts.accuracyProblems ?? d.accuracyProblems);
  // Validation problems (neither trained on nor tested): stage 1's stopping rule looks only at these.
  const nVal = opts.validationProblems ?? d.validationProblems;
  if (!Number.isSafeInteger(nVal) || nVal < 1 || nVal >= task.train.length) {
    throw new ArgumentError(`quickstart: validationProblems must be an integer in 1..${task.train.length - 1}, got ${nVal}`);
  }
  const valProblems = task.train.slice(0, nVal);
  const trainProblems = task.train.slice(nVal);
  const tokFiles = charTokenizerFiles();
  const tokDir = join(out, 'tokenizer');
  writeTokenizerFiles(tokDir, tokFiles);
  const tok = tokenizerFromFiles(tokFiles, { source: tokDir });
  const dataDir = join(out, 'data');
  mkdirSync(dataDir, { recursive: true });
  const files = {
    pretrain: join(dataDir, 'pretrain.jsonl'), pretrainEval: join(dataDir, 'pretrain-eval.jsonl'),
    instruct: join(dataDir, 'instruct.jsonl'), instructEval: join(dataDir, 'instruct-eval.jsonl'),
  };
  const corpus = (ps: readonly ArithmeticProblem[]) => ps.flatMap((p) => PRETRAIN_FORMS.map((_, form) => pretrainExample(tok, p, form)));
  writeFileSync(files.pretrain, toPretokenizedJsonl(corpus(trainProblems)));
  // Stage 1's eval: the validation problems in every layout, with only the answer and </s> as targets.
  writeFileSync(files.pretrainEval, toPretokenizedJsonl(valProblems.flatMap((p) => PRETRAIN_FORMS.map((_, f) => pretrainAnswerExample(tok, p, f)))));
  writeFileSync(files.instruct, toPretokenizedJsonl(trainProblems.map((p) => instructionExample(tok, p))));
  const instructEval = task.test.map((p) => instructionExample(tok, p));
  writeFileSync(files.instructEval, toPretokenizedJsonl(instructEval));
  writeFileSync(join(dataDir, 'test.jsonl'), task.test.map((p) => JSON.stringify({ question: questionText(p), answer: answerText(p) })).join('\n') + '\n');
  log(`task: ${trainProblems.length} training problems, ${nVal} for validation, ${task.test.length} held out for testing (e.g. "${questionText(task.test[0])}" -> "${task.test[0].answer}"); ` +
    `character tokenizer with ${tok.vocabSize} tokens in ${tokDir}`);

  // Stage 1: pretrain a small Llama from scratch on the arithmetic text (every parameter trains).
  const init = {
    architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: tok.vocabSize, ...size, max_position_embeddings: 128,
    rms_norm_eps: 1e-5, rope_theta: 10000, tie_word_embeddings: false, bos_token_id: tok.bosId, eos_token_id: tok.eosId,
  };
  const stage1Out = join(out, 'stage1-pretrain');
  const evalEvery1 = Math.min(d.evalEveryPretrain, stepsPretrain);
  const raw1 = (steps: number) => ({
    model: { init, tokenizer: tokDir },
    data: { path: files.pretrain, evalPath: files.pretrainEval, format: 'pretokenized', maxLength: 128 },
    method: { kind: 'full' },
    // A constant rate: the arithmetic is learned in a jump whose timing varies with the seed and the float
    // rounding (the units digit needs sharp attention to both operands), so stage 1 runs until the held-out
    // answer loss shows the jump happened rather than for a fixed number of steps; stage 2 then anneals.
    optim: { lr: d.lrPretrain, schedule: 'constant', warmupSteps: Math.min(d.warmupPretrain, Math.ceil(stepsPretrain / 10)), weightDecay: 0 },
    train: { steps, batchSize: d.batchPretrain, seed, evalEvery: evalEvery1 },
    out: stage1Out,
  });
  const cfg1 = writeConfig(join(out, 'stage1-pretrain.yaml'), raw1(stepsPretrain));
  const params = (size.hidden_size * tok.vocabSize * 2 + size.num_hidden_layers * (size.hidden_size * size.hidden_size * 2 +
    2 * size.hidden_size * (size.hidden_size / size.num_attention_heads) * size.num_key_value_heads + 3 * size.hidden_size * size.intermediate_size)) / 1e6;
  log(`stage 1: pretraining a ${size.num_hidden_layers}-block Llama (hidden ${size.hidden_size}, ${params.toFixed(2)}M parameters) from scratch ` +
    `on ${task.train.length * PRETRAIN_FORMS.length} lines of arithmetic text (${PRETRAIN_FORMS.map((_, f) => JSON.stringify(pretrainText(task.train[0], f))).join(', ')}), ` +
    `full training, batches of ${d.batchPretrain}, ` +
    (target > 0 ? `until the answer loss on the validation problems is <= ${target} (checked every ${evalEvery1} steps, at most ${stepsPretrain} steps)` : `${stepsPretrain} steps`));
  let t = performance.now();
  let reached: { step: number; loss: number } | undefined;
  let lastEval1 = NaN;
  const events1 = progress(log, 'pretrain', Math.max(1, Math.round(stepsPretrain / 10)));
  let r1 = await train(cfg1, {
    ...events1,
    onEval: (step, e) => {
      events1.onEval(step, e);
      lastEval1 = e.loss;
      if (target > 0 && step > 0 && e.loss <= target && !reached) reached = { step, loss: e.loss };
    },
    shouldStop: () => reached !== undefined,
  });
  if (reached) {
    // Stopped early with a checkpoint: record the steps actually run (so `lisa train` on the YAML reruns this
    // stage exactly) and finish the run there, which exports the model.
    const cfgDone = writeConfig(join(out, 'stage1-pretrain.yaml'), raw1(reached.step));
    r1 = await train(cfgDone, { resume: true });
    log(`  [pretrain] target reached at step ${reached.step}: validation answer loss ${reached.loss.toFixed(4)} <= ${target}`);
  } else if (target > 0) {
    log(`  [pretrain] warning: the validation answer loss was ${lastEval1.toFixed(4)} after ${stepsPretrain} steps, above the target ${target}: ` +
      'the model has not learned the arithmetic well yet, so the results below will be lower; a larger --steps-pretrain gives it more time');
  }
  const stage1Steps = r1.steps;
  const stage1Eval = reached ? reached.loss : r1.evalLoss ?? NaN;
  const stage1Seconds = secs(t);
  await breathe();
  const base = loadModel(r1.exportDir!).model;
  let pretrainAcc: AccuracyResult;
  let evalLossBefore: number;
  let accuracyBefore: AccuracyResult;
  try {
    pretrainAcc = accuracy(base, tok, accProblems, equationPrompt, (p) => String(p.answer));
    evalLossBefore = evaluate(base, instructEval, 32, tok.padId ?? 0).loss;
    accuracyBefore = accuracy(base, tok, accProblems, questionPrompt, answerText);
  } finally {
    base.dispose();
  }
  log(`stage 1 done in ${stage1Seconds.toFixed(1)}s after ${stage1Steps} steps: validation answer loss ${stage1Eval.toFixed(4)}; completing "a + b = " on held-out problems: ${pct(pretrainAcc)}`);

  // Stage 2: LISA on the instruction format; the prompt is masked, so the loss is on the answer and </s>.
  const stage2Out = join(out, 'stage2-lisa');
  const cfg2 = writeConfig(join(out, 'stage2-lisa.yaml'), {
    model: r1.exportDir,
    data: { path: files.instruct, evalPath: files.instructEval, format: 'pretokenized', maxLength: 128 },
    method: { kind: 'lisa', gamma: 2, period: 5, sampling: 'uniform' },
    optim: { lr: d.lrFinetune, schedule: 'cosine', warmupSteps: Math.min(20, Math.ceil(stepsFinetune / 10)), minLrRatio: 0.1, weightDecay: 0 },
    train: { steps: stepsFinetune, batchSize: d.batchFinetune, seed, evalEvery: Math.max(1, Math.round(stepsFinetune / 3)) },
    out: stage2Out,
  });
  log(`stage 2: LISA fine-tuning (2 of ${size.num_hidden_layers} blocks active, resampled every 5 steps; embeddings, final norm and head always train) ` +
    `on "### Question: ...\\n### Answer: ..." with the prompt masked, ${stepsFinetune} steps of ${d.batchFinetune}`);
  log(`  eval loss before fine-tuning: ${evalLossBefore.toFixed(4)} (answer tokens of ${instructEval.length} held-out questions)`);
  await breathe();
  t = performance.now();
  const r2 = await train(cfg2, progress(log, 'lisa', Math.max(1, Math.round(stepsFinetune / 10))));
  const stage2Seconds = secs(t);

  // Results: accuracy with greedy decoding and a few samples.
  await breathe();
  const tuned = loadModel(r2.exportDir!).model;
  let acc: AccuracyResult;
  const samples: SampleGeneration[] = [];
  try {
    acc = accuracy(tuned, tok, accProblems, questionPrompt, answerText);
    for (const p of task.test.slice(0, opts.samples ?? d.samples)) {
      const answer = greedyAnswer(tuned, tok, questionPrompt(p));
      samples.push({ question: questionText(p), answer, expected: answerText(p), correct: answer === answerText(p) });
    }
  } finally {
    tuned.dispose();
  }
  const result: QuickstartResult = {
    out,
    pretrain: {
      evalLoss: stage1Eval, accuracy: pretrainAcc, seconds: stage1Seconds, dir: r1.exportDir!,
      steps: stage1Steps, target, targetReached: reached !== undefined,
    },
    finetune: { evalLossBefore, evalLossAfter: r2.evalLoss ?? NaN, accuracyBefore, accuracy: acc, seconds: stage2Seconds, dir: r2.exportDir! },
    samples, seconds: secs(t0),
  };
  writeFileSync(join(out, 'results.json'), `${JSON.stringify(result, null, 2)}\n`);
  return result;
}

/** The end-of-run summary the CLI prints. */
export function formatQuickstartSummary(r: QuickstartResult): string {
  const f = r.finetune;
  const lines = [
    '',
    'results',
    `  eval loss (held-out answers): ${f.evalLossBefore.toFixed(4)} before LISA -> ${f.evalLossAfter.toFixed(4)} after`,
    `  exact match, greedy, held-out questions: ${pct(f.accuracyBefore)} before LISA -> ${pct(f.accuracy)} after`,
    `  (the stage-1 model completing "a + b = ": ${pct(r.pretrain.accuracy)}, after ${r.pretrain.steps} steps; ` +
      (r.pretrain.target > 0 ? `validation answer loss ${r.pretrain.evalLoss.toFixed(4)}, target ${r.pretrain.target} ${r.pretrain.targetReached ? 'reached' : 'NOT reached'})` : 'no target)'),
    '',
    'samples (held-out questions)',
    ...r.samples.map((s) => `  ${s.correct ? 'ok ' : 'bad'} ${JSON.stringify(s.question)} -> ${JSON.stringify(s.answer)} (expected ${JSON.stringify(s.expected)})`),
    '',
    `time: ${r.seconds.toFixed(1)}s (stage 1 ${r.pretrain.seconds.toFixed(1)}s, stage 2 ${f.seconds.toFixed(1)}s)`,
    `models: ${r.pretrain.dir} (base), ${f.dir} (fine-tuned); results in ${join(r.out, 'results.json')}`,
    `try:    lisa generate --model ${f.dir} --temperature 0 --max-new-tokens 8 --prompt $'${instructionPrompt('What is 12 + 34?').replace('\n', '\\n')}'`,
  ];
  return lines.join('\n');
}

