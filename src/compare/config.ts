// The `lisa compare` config: a `lisa train` config plus a `compare` section (seeds, methods), validated with
// zod like the train config (errors name the key; unknown keys get a suggestion), expanded into one train
// config per method and seed. src/compare orchestrates train runs: it sits above src/train and src/report and
// below src/cli.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError, configSchema, distance, validateConfig, type TrainConfig } from '../train/config.js';
import { showValue } from '../util/show.js';
import type { BaseModel } from './base.js';

/** A method of the comparison: a train `method` section, optional `optim` overrides, and for weighted LISA
 *  the method whose run (same seed) gives the norms profile. */
export interface CompareMethod {
  name: string;
  method: Record<string, unknown>;
  optim?: Record<string, unknown>;
  profileFrom?: string;
}

/** The default methods: the paper's comparison. LoRA's alpha is 2r (scale 2), also when only the rank is changed. */
export const PRESETS: Readonly<Record<string, CompareMethod>> = {
  full: { name: 'full', method: { kind: 'full' } },
  lora: { name: 'lora', method: { kind: 'lora', rank: 128, alpha: 256, targets: 'all-linear' } },
  lisa: { name: 'lisa', method: { kind: 'lisa', gamma: 2, sampling: 'uniform' } },
  'lisa-weighted': { name: 'lisa-weighted', method: { kind: 'lisa', gamma: 2, sampling: 'weighted' }, profileFrom: 'lora' },
};

const methodEntry = z.union([
  z.string().min(1),
  z.object({
    name: z.string().min(1).regex(/^[A-Za-z0-9._-]+$/, 'a name of letters, digits, ".", "_" or "-" (it names the run folder)'),
    method: z.record(z.unknown()).optional(),
    optim: z.record(z.unknown()).optional(),
    profileFrom: z.string().min(1).optional(),
  }).strict(),
]);

const compareSchema = z.object({
  seeds: z.number().int().positive().default(3),
  methods: z.array(methodEntry).min(1).default(Object.keys(PRESETS)),
}).strict();

const ENTRY_KEYS = ['name', 'method', 'optim', 'profileFrom'];

/** One training run of the comparison. */
export interface PlannedRun {
  method: string;
  seed: number;
  /** The run's output folder, OUT/runs/METHOD/seed-SEED. */
  dir: string;
  config: TrainConfig;
  /** Weighted LISA: the run (same seed) whose norms give the sampling profile, written to config's profile. */
  profileFrom?: { method: string; dir: string; profile: string };
}

export interface ComparePlan {
  source: string;
  out: string;
  /** The model all runs start from (an init base is written once to OUT/base). */
  base: BaseModel;
  seeds: number[];
  methods: CompareMethod[];
  /** In the order they run: a profile's source before the run that reads it. */
  runs: PlannedRun[];
}

export interface PlanOptions { seeds?: number; methods?: string[]; out?: string }

function suggest(key: string, known: string[]): string {
  const best = known.map((n) => [n, distance(key, n)] as const).sort((a, b) => a[1] - b[1])[0];
  return best && best[1] <= Math.max(2, key.length / 3) ? ` (did you mean '${best[0]}'?)` : '';
}

function describe(issue: z.ZodIssue, raw: unknown, source: string): string {
  const key = ['compare', ...issue.path].join('.');
  if (issue.code === 'unrecognized_keys') {
    const known = issue.path.length === 0 ? Object.keys(compareSchema.shape) : ENTRY_KEYS;
    return issue.keys.map((k) => `${source}: unknown key '${key}.${k}'${suggest(k, known)}; allowed: ${known.join(', ')}`).join('\n');
  }
  if (issue.code === 'invalid_union') {
    const inner = issue.unionErrors.map((e) => e.issues).sort((a, b) => b[0].path.length - a[0].path.length)[0];
    return inner.map((i) => describe(i, raw, source)).join('\n');
  }
  const value = issue.path.reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string | number, unknown>)[k] : undefined), raw);
  return `${source}: '${key}' = ${value === undefined ? 'nothing' : showValue(value, 200)}: ${issue.message}`;
}

function resolveEntry(e: z.infer<typeof methodEntry>, source: string, i: number): CompareMethod {
  if (typeof e === 'string') {
    const preset = PRESETS[e];
    if (!preset) throw new ConfigError(`${source}: 'compare.methods.${i}' = '${e}': not a known method${suggest(e, Object.keys(PRESETS))}; known: ${Object.keys(PRESETS).join(', ')} (or an object with name and method)`);
    return preset;
  }
  const preset = PRESETS[e.name];
  if (!e.method && !preset) {
    throw new ConfigError(`${source}: 'compare.methods.${i}' ('${e.name}') needs a 'method' section (its name is not one of ${Object.keys(PRESETS).join(', ')})`);
  }
  const method = { ...(preset && (!e.method?.kind || e.method.kind === preset.method.kind) ? preset.method : {}), ...e.method };
  // LoRA's alpha follows a changed rank (2r, as the preset) unless given.
  if (method.kind === 'lora' && typeof e.method?.rank === 'number' && e.method.alpha === undefined) method.alpha = 2 * e.method.rank;
  const profileFrom = e.profileFrom ?? (method.sampling === 'weighted' && method.profile === undefined && method.probabilities === undefined ? preset?.profileFrom : undefined);
  return { name: e.name, method, ...(e.optim ? { optim: e.optim } : {}), ...(profileFrom ? { profileFrom } : {}) };
}

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Validates a raw compare config (an object) and expands it into runs. */
export function planCompare(raw: unknown, source = 'config', opts: PlanOptions = {}): ComparePlan {
  if (!isObj(raw)) throw new ConfigError(`${source}: expected a mapping of sections (model, data, optim, train, out, compare)`);
  const known = [...Object.keys(configSchema.shape), 'compare'];
  for (const k of Object.keys(raw)) {
    if (!known.includes(k)) throw new ConfigError(`${source}: unknown key '${k}'${suggest(k, known)}; allowed: ${known.join(', ')}`);
  }
  const { compare: rawCompare, ...base } = raw;
  const parsed = compareSchema.safeParse(rawCompare ?? {});
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => describe(i, rawCompare, source)).join('\n'));
  const c = parsed.data;
  if (opts.out !== undefined) base.out = opts.out;
  const baseCfg = validateConfig(base, source); // the base alone: its own errors name its keys
  const out = resolve(baseCfg.out);
  let methods = c.methods.map((e, i) => resolveEntry(e, source, i));
  const names = methods.map((m) => m.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new ConfigError(`${source}: 'compare.methods' names '${dup}' twice; each method needs its own name`);
  if (opts.methods && opts.methods.length > 0) {
    methods = opts.methods.map((n) => {
      const m = methods.find((x) => x.name === n) ?? PRESETS[n];
      if (!m) throw new ConfigError(`--methods: unknown method '${n}'${suggest(n, [...new Set([...names, ...Object.keys(PRESETS)])])}; known: ${[...new Set([...names, ...Object.keys(PRESETS)])].join(', ')}`);
      return m;
    });
  }
  for (const m of methods) {
    if (!m.profileFrom) continue;
    const from = methods.find((x) => x.name === m.profileFrom);
    if (!from) throw new ConfigError(`${source}: method '${m.name}' takes its norms profile from '${m.profileFrom}', which is not among the methods compared (${methods.map((x) => x.name).join(', ')}); add it`);
    if (from.method.kind !== 'lora') throw new ConfigError(`${source}: method '${m.name}' takes its norms profile from '${m.profileFrom}', which is not a LoRA method (kind '${String(from.method.kind)}')`);
  }
  // A profile's source runs first.
  methods = [...methods.filter((m) => !m.profileFrom), ...methods.filter((m) => m.profileFrom)];
  const nSeeds = opts.seeds ?? c.seeds;
  if (!Number.isSafeInteger(nSeeds) || nSeeds < 1) throw new ConfigError(`--seeds must be an integer >= 1, got ${String(nSeeds)}`);
  const seeds = Array.from({ length: nSeeds }, (_, i) => baseCfg.train.seed + i);
  const m0 = baseCfg.model;
  const baseModel: BaseModel = typeof m0 === 'object' && 'init' in m0
    ? { ref: join(out, 'base'), init: { config: m0.init, seed: baseCfg.train.seed, ...(m0.tokenizer ? { tokenizer: m0.tokenizer } : {}) } }
    : { ref: typeof m0 === 'string' ? m0 : m0.path };
  const runs: PlannedRun[] = [];
  for (const seed of seeds) {
    for (const m of methods) {
      const dir = join(out, 'runs', m.name, `seed-${seed}`);
      const from = m.profileFrom ? { method: m.profileFrom, dir: join(out, 'runs', m.profileFrom, `seed-${seed}`), profile: join(dir, 'profile.json') } : undefined;
      const rawRun = {
        ...base,
        model: baseModel.init ? baseModel.ref : base.model,
        method: { ...m.method, ...(from ? { profile: from.profile } : {}) },
        optim: { ...(isObj(base.optim) ? base.optim : {}), ...m.optim },
        train: { ...(isObj(base.train) ? base.train : {}), seed },
        out: dir,
      };
      runs.push({ method: m.name, seed, dir, config: validateConfig(rawRun, `${source} (compare method '${m.name}')`), ...(from ? { profileFrom: from } : {}) });
    }
  }
  return { source, out, base: baseModel, seeds, methods, runs };
}

/** Reads a YAML or JSON compare config and plans its runs. */
export function loadCompareConfig(path: string, opts: PlanOptions = {}): ComparePlan {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(code ? `${path}: cannot read the config file (${code})` : `${path}: not valid YAML or JSON: ${(e as Error).message.split('\n')[0]}`);
  }
  return planCompare(raw, path, opts);
}
