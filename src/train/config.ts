// The `lisa train` config: one typed schema with defaults; every key validated, errors name the key, the
// value and what was expected, and unknown keys get a suggestion.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../util/errors.js';
import { showValue } from '../util/show.js';
import { COMPUTE_BACKENDS, WEIGHT_DTYPES } from '../backends/backend.js';
import { NON_BLOCK_ROLES } from '../models/causal-lm.js';
import { SCHEDULE_KINDS } from '../optim/schedule.js';
import { ADAMW_DEFAULTS } from '../optim/defaults.js';
import type { MethodKind } from '../finetune/method.js';
import { SAMPLING_KINDS } from '../finetune/lisa-sampler.js';
import { STATE_ON_SWITCH } from '../finetune/lisa.js';
import { DATA_FORMATS } from '../data/load.js';
import { RECORD_FIELDS } from '../data/prompt.js';
import type { ModelConfig } from '../models/config.js';

export { ConfigError };

const positiveInt = z.number().int().positive();
const nonNegInt = z.number().int().nonnegative();
const roles = z.enum(NON_BLOCK_ROLES);

const modelSchema = z.union([
  z.string().min(1),
  z.object({ path: z.string().min(1) }).strict(),
  z.object({ init: z.record(z.unknown()), tokenizer: z.string().optional() }).strict(),
]);

const dataSchema = z.object({
  path: z.string().min(1),
  format: z.enum(DATA_FORMATS).default('auto'),
  /** Tokens per example; without it, the model's context capped at DEFAULT_MAX_LENGTH_CAP (see dataMaxLength). */
  maxLength: positiveInt.optional(),
  maskPrompt: z.boolean().default(true),
  packing: z.boolean().default(false),
  shuffle: z.boolean().default(true),
  /** Fraction of examples held out for eval (0 = none), or a separate file. */
  evalSplit: z.number().min(0).max(0.9).default(0.05),
  evalPath: z.string().optional(),
  limit: positiveInt.optional(),
  /** Field names the readers expect -> the file's column names, e.g. {instruction: question, output: answer}. */
  columns: z.record(z.enum(RECORD_FIELDS), z.string().min(1)).optional(),
}).strict();

/** One schema per method kind (a kind added to METHOD_KINDS does not compile until it has one here). */
const methodSchemas = {
  full: z.object({ kind: z.literal('full') }).strict(),
  lora: z.object({
    kind: z.literal('lora'), rank: positiveInt.default(8), alpha: z.number().positive().default(16),
    dropout: z.number().min(0).lt(1).default(0), targets: z.union([z.literal('all-linear'), z.array(z.string().min(1)).min(1)]).default('all-linear'),
  }).strict(),
  lisa: z.object({
    kind: z.literal('lisa'), gamma: nonNegInt.default(2), period: positiveInt.default(20),
    alwaysTrain: z.array(roles).default([...NON_BLOCK_ROLES]),
    sampling: z.enum(SAMPLING_KINDS).default('uniform'),
    probabilities: z.array(z.number().nonnegative()).optional(), profile: z.string().optional(),
    schedule: z.array(z.array(nonNegInt)).optional(), stateOnSwitch: z.enum(STATE_ON_SWITCH).default('reset'),
    seed: z.number().int().optional(),
  }).strict(),
} satisfies { [K in MethodKind]: z.ZodObject<{ kind: z.ZodLiteral<K> } & z.ZodRawShape> };

const methodSchema = z.discriminatedUnion('kind', [methodSchemas.full, methodSchemas.lora, methodSchemas.lisa]);

const optimSchema = z.object({
  lr: z.number().positive().default(ADAMW_DEFAULTS.lr),
  beta1: z.number().min(0).lt(1).default(ADAMW_DEFAULTS.beta1),
  beta2: z.number().min(0).lt(1).default(ADAMW_DEFAULTS.beta2),
  eps: z.number().positive().default(ADAMW_DEFAULTS.eps),
  weightDecay: z.number().min(0).default(ADAMW_DEFAULTS.weightDecay),
  schedule: z.enum(SCHEDULE_KINDS).default('constant'),
  warmupSteps: nonNegInt.default(0),
  minLrRatio: z.number().min(0).max(1).default(0),
  maxGradNorm: z.number().positive().nullable().default(1.0),
  /** Apply AdamW to each tensor as soon as its gradient is complete in backward, then free the gradient:
   *  gradients never coexist (needs maxGradNorm: null and gradAccum: 1). */
  updateInBackward: z.boolean().default(false),
}).strict();

const trainSchema = z.object({
  steps: positiveInt.optional(),
  epochs: z.number().positive().optional(),
  batchSize: positiveInt.default(4),
  gradAccum: positiveInt.default(1),
  seed: z.number().int().default(42),
  evalEvery: nonNegInt.default(0),
  saveEvery: nonNegInt.default(0),
  logEvery: positiveInt.default(10),
  backend: z.enum(COMPUTE_BACKENDS).optional(),
  /** bfloat16: weights stored in bf16, trainable tensors train fp32 masters (src/tensor/precision.ts). */
  weightDtype: z.enum(WEIGHT_DTYPES).default('float32'),
  /** bfloat16: every GEMM of matmul, linear and the LM-head loss (forward, input and weight gradients) rounds
   *  both operands to bfloat16 and accumulates in fp32 (torch CPU autocast; vdpbf16ps on AVX512_BF16 CPUs), with
   *  fp32 or bf16 weights alike. */
  matmulPrecision: z.enum(WEIGHT_DTYPES).default('float32'),
  /** Keep only each block's input in forward and recompute the block in backward (less activation memory,
   *  about one more forward of compute); losses and weights are unchanged, bit for bit. */
  gradientCheckpointing: z.boolean().default(false),
  /** Record each layer's weight norm every N optimizer steps (and at step 0) in OUT/norms.jsonl, for `lisa norms`;
   *  null or absent: off. */
  normsEvery: positiveInt.nullable().optional(),
}).strict();

export const configSchema = z.object({
  model: modelSchema,
  data: dataSchema,
  method: methodSchema.default({ kind: 'lisa' }),
  optim: optimSchema.default({}),
  train: trainSchema.default({}),
  out: z.string().min(1),
}).strict();

export type TrainConfig = z.infer<typeof configSchema>;
/** A config as a program writes it: keys with defaults may be left out. */
export type TrainConfigInput = z.input<typeof configSchema>;

/** The longest default data.maxLength: longer contexts are rarely what a first run on a CPU wants. */
const DEFAULT_MAX_LENGTH_CAP = 2048;

/** The context (positions) of a model config. */
export function modelContext(c: ModelConfig): number {
  return c.family === 'gpt2' ? c.nPositions : c.maxPositions;
}

/** data.maxLength of a run on a model with this context: the configured value, else min(context, 2048). */
export function dataMaxLength(cfg: Pick<TrainConfig, 'data'>, context: number): number {
  return cfg.data.maxLength ?? Math.min(context, DEFAULT_MAX_LENGTH_CAP);
}
export type MethodConfig = TrainConfig['method'];

/** Edit distance between two keys (for "did you mean" suggestions). */
export function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length][b.length];
}

/** Keys allowed at a path of the schema (for suggestions). */
function keysAt(path: (string | number)[], raw: unknown): string[] {
  const kind = (raw as { method?: { kind?: string } })?.method?.kind;
  const shapes: Record<string, z.ZodRawShape> = {
    '': configSchema.shape, data: dataSchema.shape, optim: optimSchema.shape, train: trainSchema.shape,
    method: (methodSchema.options.find((o) => o.shape.kind.value === kind) ?? methodSchema.options[2]).shape,
  };
  return Object.keys(shapes[path.join('.')] ?? {});
}

function valueAt(raw: unknown, path: (string | number)[]): unknown {
  return path.reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string | number, unknown>)[k] : undefined), raw);
}

function describeIssue(issue: z.ZodIssue, raw: unknown, source: string): string {
  const key = issue.path.join('.') || '(top level)';
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => {
      const known = keysAt(issue.path, raw);
      const best = known.map((n) => [n, distance(k, n)] as const).sort((a, b) => a[1] - b[1])[0];
      const hint = best && best[1] <= Math.max(2, k.length / 3) ? ` (did you mean '${issue.path.length ? `${key}.` : ''}${best[0]}'?)` : '';
      return `${source}: unknown key '${issue.path.length ? `${key}.` : ''}${k}'${hint}; allowed: ${known.join(', ')}`;
    }).join('\n');
  }
  const value = valueAt(raw, issue.path);
  const shown = value === undefined ? 'nothing' : showValue(value, 200);
  return `${source}: '${key}' = ${shown}: ${issue.message.replace(/^Invalid input$/, 'invalid value')}`;
}

/** Validates a raw config object; `source` names its file in errors. */
export function validateConfig(raw: unknown, source = 'config'): TrainConfig {
  const r = configSchema.safeParse(raw);
  if (!r.success) throw new ConfigError(r.error.issues.map((i) => describeIssue(i, raw, source)).join('\n'));
  const c = r.data;
  if (c.train.steps === undefined && c.train.epochs === undefined) c.train.steps = 100;
  if (c.optim.updateInBackward && (c.optim.maxGradNorm !== null || c.train.gradAccum !== 1)) {
    throw new ConfigError(`${source}: 'optim.updateInBackward' = true updates each tensor before the others' gradients exist, so it ` +
      `needs 'optim.maxGradNorm' = null (no global-norm clipping; now ${JSON.stringify(c.optim.maxGradNorm)}) and ` +
      `'train.gradAccum' = 1 (now ${c.train.gradAccum})`);
  }
  return c;
}

/** Sets a dotted key path to a value parsed as YAML (so numbers, booleans and lists work): a.b=3. */
export function applyOverride(raw: Record<string, unknown>, assignment: string): void {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new ConfigError(`--set ${assignment}: expected key.path=value`);
  const path = assignment.slice(0, eq).split('.');
  const value = parseYaml(assignment.slice(eq + 1));
  let node: Record<string, unknown> = raw;
  for (const k of path.slice(0, -1)) {
    if (node[k] === undefined || node[k] === null || typeof node[k] !== 'object') node[k] = {};
    node = node[k] as Record<string, unknown>;
  }
  node[path[path.length - 1]] = value;
}

/** Reads a YAML or JSON config file, applies --set overrides and validates it. */
export function loadConfig(path: string, overrides: string[] = []): TrainConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`${path}: cannot read the config file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new ConfigError(`${path}: not valid YAML or JSON: ${(e as Error).message.split('\n')[0]}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`${path}: expected a mapping of sections (model, data, method, optim, train, out)`);
  for (const o of overrides) applyOverride(raw as Record<string, unknown>, o);
  return validateConfig(raw, path);
}
