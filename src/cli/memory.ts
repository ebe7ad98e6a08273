// `lisa memory`: memory by category (weights, gradients, optimizer state, adapters, activations) of full, LoRA
// and LISA fine-tuning side by side, estimated from the config by running training steps on the meta backend;
// with --measure, also measured on real steps.
import type { Command } from 'commander';
import { readConfig, readJsonObject } from '../io/hf-folder.js';
import { parseConfig, type ModelConfig, type NonBlockRole } from '../models/index.js';
import { estimateMemory, measureMemory, type MemoryBytes, type MemoryEstimate, type MemoryMethod, type MeasuredMemory } from '../finetune/memory-estimate.js';
import { ArgumentError } from '../util/errors.js';
import { resolveModel } from '../io/hub.js';

export interface MemoryCliOptions {
  model?: string;
  config?: string;
  method: string[];
  rank: string;
  alpha?: string;
  targets: string;
  dropout: string;
  gamma: string;
  alwaysTrain?: string;
  seq?: string;
  batch: string;
  json: boolean;
  measure: boolean;
  steps: string;
  seed: string;
  updateInBackward?: boolean;
  weightDtype?: string;
  gradientCheckpointing?: boolean;
}

const METHODS = ['full', 'lora', 'lisa'] as const;

function int(option: string, v: string): number {
  const n = Number(v);
  if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n)) throw new ArgumentError(`${option} must be an integer, got '${v}'`);
  return n;
}

function num(option: string, v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new ArgumentError(`${option} must be a number, got '${v}'`);
  return n;
}

const list = (v: string) => v.split(',').map((s) => s.trim()).filter((s) => s.length > 0);

function loadModelConfig(o: MemoryCliOptions): ModelConfig {
  if ((o.model === undefined) === (o.config === undefined)) throw new ArgumentError('memory: give exactly one of --model DIR or --config FILE');
  return o.model !== undefined ? parseConfig(readConfig(o.model), `${o.model}/config.json`) : parseConfig(readJsonObject(o.config as string), o.config);
}

/** The methods named by --method (repeatable, comma lists allowed), with their options. */
export function parseMethods(o: MemoryCliOptions): MemoryMethod[] {
  const kinds = [...new Set((o.method.length ? o.method : ['full,lora,lisa']).flatMap(list))];
  if (kinds.length === 0) throw new ArgumentError('--method: expected full, lora or lisa');
  return kinds.map((k): MemoryMethod => {
    if (k === 'full') return { kind: 'full' };
    if (k === 'lora') {
      const rank = int('--rank', o.rank);
      const targets = o.targets.trim() === 'all-linear' ? 'all-linear' as const : list(o.targets);
      if (targets !== 'all-linear' && targets.length === 0) throw new ArgumentError("--targets: expected 'all-linear' or module names such as q_proj,v_proj");
      return { kind: 'lora', rank, alpha: o.alpha === undefined ? 2 * rank : num('--alpha', o.alpha), targets, dropout: num('--dropout', o.dropout) };
    }
    if (k === 'lisa') {
      const alwaysTrain = o.alwaysTrain === undefined ? undefined
        : (o.alwaysTrain.trim() === 'none' ? [] : list(o.alwaysTrain)) as NonBlockRole[];
      return { kind: 'lisa', gamma: int('--gamma', o.gamma), alwaysTrain };
    }
    throw new ArgumentError(`--method: unknown method '${k}' (expected ${METHODS.join(', ')})`);
  });
}

export function fmtBytes(b: number): string {
  const a = Math.abs(b);
  if (a >= 2 ** 30) return `${(b / 2 ** 30).toFixed(2)} GiB`;
  if (a >= 2 ** 20) return `${(b / 2 ** 20).toFixed(1)} MiB`;
  if (a >= 2 ** 10) return `${(b / 2 ** 10).toFixed(1)} KiB`;
  return `${b} B`;
}

const fmtCount = (n: number) => n.toLocaleString('en-US');

interface Row { label: string; key?: keyof MemoryBytes | 'peakTogether'; count?: (e: MemoryEstimate) => number }
const ROWS: Row[] = [
  { label: 'weights', key: 'weights' },
  { label: 'trainable params', count: (e) => e.params.trainable },
  { label: 'gradients', key: 'gradients' },
  { label: 'optimizer state', key: 'optimizer' },
  { label: 'adapters', key: 'adapters' },
  { label: 'activations', key: 'activations' },
  { label: 'total', key: 'total' },
  { label: 'peak together', key: 'peakTogether' },
];

const pick = (x: { bytes: MemoryBytes; peakTogether: number }, key: Row['key'] & string) =>
  key === 'peakTogether' ? x.peakTogether : x.bytes[key];

/** The side-by-side table: one column per method, or estimate / measured / ratio per method with measurements. */
export function formatMemoryTable(estimates: MemoryEstimate[], measured?: MeasuredMemory[]): string {
  const cells: string[][] = [];
  const head1 = [''];
  const head2 = [''];
  for (const e of estimates) {
    head1.push(e.label);
    head2.push(measured ? 'estimate' : '');
    if (measured) {
      head1.push('', '');
      head2.push('measured', 'ratio');
    }
  }
  for (const row of ROWS) {
    const line = [row.label];
    estimates.forEach((e, i) => {
      if (row.count) {
        line.push(fmtCount(row.count(e)));
        if (measured) line.push('', '');
        return;
      }
      const est = pick(e, row.key as string & Row['key']);
      line.push(fmtBytes(est));
      if (measured) {
        const m = pick(measured[i], row.key as string & Row['key']);
        line.push(fmtBytes(m), est === 0 && m === 0 ? '-' : est === 0 ? 'inf' : (m / est).toFixed(3));
      }
    });
    cells.push(line);
  }
  const all = measured ? [head1, head2, ...cells] : [head1, ...cells];
  const widths = all[0].map((_, c) => Math.max(...all.map((r) => r[c].length)));
  return all.map((r) => r.map((s, c) => (c === 0 ? s.padEnd(widths[c]) : s.padStart(widths[c]))).join('   ').trimEnd()).join('\n');
}

function describe(config: ModelConfig): string {
  if (config.family === 'gpt2') return `gpt2 (${config.nLayer} layers, C ${config.nEmbd}, ${config.nHead} heads, V ${config.vocabSize})`;
  return `${config.modelType} (${config.numLayers} layers, C ${config.hiddenSize}, ${config.numHeads}/${config.numKvHeads} heads, V ${config.vocabSize})`;
}

/** Runs the command on parsed options; returns the text to print. */
export function runMemory(o: MemoryCliOptions, progress: (s: string) => void = () => {}): string {
  const config = loadModelConfig(o);
  const methods = parseMethods(o);
  const context = config.family === 'gpt2' ? config.nPositions : config.maxPositions;
  const shape = { batch: int('--batch', o.batch), seq: o.seq === undefined ? Math.min(512, context) : int('--seq', o.seq) };
  const steps = int('--steps', o.steps);
  const seed = int('--seed', o.seed);
  const weightDtype = o.weightDtype ?? 'float32';
  if (weightDtype !== 'float32' && weightDtype !== 'bfloat16') {
    throw new ArgumentError(`--weight-dtype must be 'float32' or 'bfloat16', got '${weightDtype}'`);
  }
  const run = {
    steps, seed, updateInBackward: o.updateInBackward ?? false, gradientCheckpointing: o.gradientCheckpointing ?? false,
    weightDtype: weightDtype as 'float32' | 'bfloat16',
  };
  const estimates = methods.map((m) => estimateMemory(config, m, shape, run));
  let measured: MeasuredMemory[] | undefined;
  if (o.measure) {
    measured = methods.map((m, i) => {
      progress(`measuring ${estimates[i].label}: ${steps} steps at batch ${shape.batch} x seq ${shape.seq}...\n`);
      return measureMemory(config, m, shape, run);
    });
  }
  if (o.json) {
    return JSON.stringify({
      model: { ...config, parameters: estimates[0].params.base }, batch: shape.batch, seq: shape.seq,
      bytesPerElement: estimates[0].bytesPerElement, updateInBackward: run.updateInBackward, gradientCheckpointing: run.gradientCheckpointing,
      methods: estimates.map((e, i) => ({
        label: e.label, method: e.method, params: e.params, estimate: { ...e.bytes, peakTogether: e.peakTogether },
        activations: e.activations, estimateSeconds: e.seconds,
        ...(e.activeBlocks ? { activeBlocks: e.activeBlocks, worstPlacement: e.worstPlacement } : {}),
        notes: e.notes,
        ...(measured ? {
          measured: { ...measured[i].bytes, peakTogether: measured[i].peakTogether },
          measuredActivations: measured[i].activations, seconds: measured[i].seconds, losses: measured[i].losses,
        } : {}),
      })),
    }, null, 2);
  }
  const lines = [
    `lisa memory: ${describe(config)}, ${fmtCount(estimates[0].params.base)} parameters, batch ${shape.batch} x seq ${shape.seq}, ${weightDtype === 'bfloat16' ? 'bf16 weights (fp32 masters, compute float32)' : 'float32'}${run.updateInBackward ? ', AdamW in backward' : ''}${run.gradientCheckpointing ? ', gradient checkpointing' : ''}`,
    '',
    formatMemoryTable(estimates, measured),
    '',
    ...estimates.flatMap((e) => {
      const a = e.activations;
      const lines = [`${e.label}: activations = kept by forward ${fmtBytes(a.forward)} + transient ${fmtBytes(a.backwardTransient)} (peak in ${a.peakAt})`];
      const w = e.worstPlacement;
      if (e.activeBlocks && w) {
        lines.push(`${e.label}: blocks [${e.activeBlocks.join(', ')}] sampled with seed ${seed}; worst placement [${w.activeBlocks.join(', ')}]: `
          + `activations ${fmtBytes(w.activations)}, peak together ${fmtBytes(w.peakTogether)}`);
      }
      return lines;
    }),
    ...[...new Set(estimates.flatMap((e) => e.notes))].map((n) => `note: ${n}`),
  ];
  lines.push(`estimated by running ${steps} training steps on the meta backend (shapes only, no memory) in `
    + `${estimates.reduce((s, e) => s + e.seconds, 0).toFixed(2)} s`);
  if (measured) lines.push(`measured over ${o.steps} steps each (${measured.map((m, i) => `${estimates[i].label} ${m.seconds.toFixed(1)} s`).join(', ')})`);
  return lines.join('\n');
}

export function registerMemory(program: Command): void {
  program.command('memory')
    .description('estimate (and with --measure, measure) memory by category for full, LoRA and LISA fine-tuning')
    .option('--model <dir>', 'model folder or hub id (reads its config.json)')
    .option('--config <file>', 'an HF config.json')
    .option('--method <list>', 'full, lora, lisa; repeat or give a comma list (default: all three)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--rank <r>', 'LoRA rank', '8')
    .option('--alpha <a>', 'LoRA alpha (default 2 x rank)')
    .option('--targets <list>', "LoRA targets: 'all-linear' or module names such as q_proj,v_proj", 'all-linear')
    .option('--dropout <p>', 'LoRA dropout', '0')
    .option('--gamma <g>', 'LISA: blocks active at a time', '2')
    .option('--always-train <roles>', "LISA: non-block roles that always train (embed,posEmbed,finalNorm,head, or 'none'; default all)")
    .option('--seq <n>', 'sequence length (default 512, or the context size when smaller)')
    .option('--batch <n>', 'batch size', '1')
    .option('--json', 'print exact bytes as JSON', false)
    .option('--measure', 'also build the model with random weights and measure real training steps', false)
    .option('--steps <n>', 'training steps per method (the second has optimizer state)', '2')
    .option('--seed <n>', 'seed for weights, token ids and LISA sampling', '0')
    .option('--update-in-backward', 'AdamW inside backward, freeing each gradient at once (optim.updateInBackward)', false)
    .option('--weight-dtype <dtype>', 'float32, or bfloat16: weights in bf16, fp32 masters for what trains (train.weightDtype)', 'float32')
    .option('--gradient-checkpointing', 'recompute each block in backward, keeping only its input (train.gradientCheckpointing)', false)
    .action(async (o: MemoryCliOptions) => {
      // A hub id fetches config.json alone: the estimate needs the architecture, not the weights.
      const model = o.model === undefined ? undefined : await resolveModel(o.model, { configOnly: true });
      const text = runMemory({ ...o, model }, (s) => process.stderr.write(s));
      process.stdout.write(`${text}\n`);
    });
}
