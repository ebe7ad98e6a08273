// The fuzzed file kinds: for each, valid seed files built here (no shared data needed), a seeded mutation and
// the target, i.e. what the product does with such a file (load, validate, encode, restore).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Rng } from '../../src/util/rng.js';
import { openSafetensors } from '../../src/io/safetensors.js';
import { loadModel, saveModel } from '../../src/models/load.js';
import { createModel, initWeights, parseConfig } from '../../src/models/index.js';
import { Rng as SeededRng } from '../../src/util/rng.js';
import { buildLlamaTokenizerJson, SPM_BYTE, SPM_CONTROL, SPM_NORMAL, SPM_UNKNOWN, type ScoredPiece } from '../../src/data/tokenizer-convert-common.js';
import { convertGpt2Tokenizer } from '../../src/data/tokenizer-convert-gpt2.js';
import { loadTokenizer, tokenizerFromFiles, type Tokenizer } from '../../src/data/tokenizer.js';
import { loadConfig } from '../../src/train/config.js';
import { loadDataset, type DataFormat } from '../../src/data/load.js';
import { AdamW } from '../../src/optim/adamw.js';
import { Lisa } from '../../src/finetune/lisa.js';
import { LoraFineTune } from '../../src/finetune/lora.js';
import { loadCheckpoint, saveCheckpoint } from '../../src/train/checkpoint.js';
import { DataStream } from '../../src/train/data-stream.js';
import { concat, mutateBytes, mutateJson, mutateProto, mutateValue, mutateYaml, pick, toJson, varintBytes } from './mutate.js';

/** One prepared seed: the file name to write and how to mutate it. */
export interface Seed {
  readonly name: string;
  /** Folder holding fixed companion files (weights beside config.json, ...), or null for a fresh folder. */
  readonly dir: string | null;
  /** File name inside the folder. */
  readonly file: string;
  mutate(r: Rng): [Uint8Array, string];
  /** Runs the product on the file; returns a short summary of the result. */
  run(path: string, r: Rng): string;
}

export interface Kind {
  readonly name: string;
  /** Builds the seeds (writes companion files under `root`). */
  setup(root: string): Seed[];
}

const enc = new TextEncoder();
const dec = new TextDecoder();

// ------------------------------------------------------------------------------------------ safetensors

function safetensorsBytes(header: Record<string, unknown>, data: Uint8Array, pad = true): Uint8Array {
  let json = toJson(header);
  if (pad) while (enc.encode(json).length % 8 !== 0) json += ' ';
  const hb = enc.encode(json);
  const len = new Uint8Array(8);
  new DataView(len.buffer).setBigUint64(0, BigInt(hb.length), true);
  return concat(len, hb, data);
}

const safetensors: Kind = {
  name: 'safetensors',
  setup() {
    const f32 = new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6, -1, 0.5]).buffer);
    const seeds: [Record<string, unknown>, Uint8Array][] = [
      [{ __metadata__: { format: 'pt' }, a: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] }, b: { dtype: 'F32', shape: [2], data_offsets: [24, 32] } }, f32],
      [{
        h: { dtype: 'F16', shape: [2], data_offsets: [0, 4] }, bf: { dtype: 'BF16', shape: [1, 2], data_offsets: [4, 8] },
        e: { dtype: 'F32', shape: [0], data_offsets: [8, 8] }, u: { dtype: 'U8', shape: [3], data_offsets: [8, 11] },
        l: { dtype: 'I64', shape: [1], data_offsets: [11, 19] },
      }, Uint8Array.from([0, 0x3c, 0, 0xc1, 0x80, 0x3f, 0, 0x40, 1, 2, 3, 7, 0, 0, 0, 0, 0, 0, 0])],
      [{}, new Uint8Array(0)],
    ];
    return seeds.map(([header, data], i) => ({
      name: `safetensors#${i}`, dir: null, file: 'model.safetensors',
      mutate(r) {
        if (r.int(2) === 0) return mutateBytes(safetensorsBytes(header, data), r);
        const [h, what] = mutateValue(JSON.parse(JSON.stringify(header)), r, { maxString: 100_000 });
        return [safetensorsBytes(h as Record<string, unknown>, data, r.int(4) !== 0), `header: ${what}`];
      },
      run(path) {
        const f = openSafetensors(path);
        try {
          let n = 0;
          for (const t of f.names()) n += f.read(t).length;
          return `${f.names().length} tensors, ${n} values`;
        } finally {
          f.close();
        }
      },
    }));
  },
};

// ------------------------------------------------------------------------------------------ config.json

export const TINY_GPT2 = { model_type: 'gpt2', vocab_size: 48, n_positions: 16, n_embd: 8, n_layer: 2, n_head: 2 };
export const TINY_LLAMA = {
  model_type: 'llama', vocab_size: 48, hidden_size: 8, intermediate_size: 12, num_hidden_layers: 2, num_attention_heads: 2,
  num_key_value_heads: 1, max_position_embeddings: 32, rms_norm_eps: 1e-5, tie_word_embeddings: false,
};

const hfConfig: Kind = {
  name: 'config.json',
  setup(root) {
    return [TINY_GPT2, TINY_LLAMA, { ...TINY_LLAMA, model_type: 'qwen2', tie_word_embeddings: true }].map((cfg, i) => {
      const dir = join(root, `model${i}`);
      const model = createModel(parseConfig(cfg));
      initWeights(model, new SeededRng(i));
      saveModel(dir, model);
      model.dispose();
      return {
        name: `config.json#${i}`, dir, file: 'config.json',
        mutate: (r: Rng) => mutateJson(cfg, r),
        run(path: string) {
          const { model: m } = loadModel(join(path, '..'));
          const n = m.numParameters();
          m.dispose();
          return `${n} parameters`;
        },
      };
    });
  },
};

// ------------------------------------------------------------------------------------------ tokenizers

/** A small SentencePiece-BPE vocabulary: <unk>, <s>, </s>, 256 byte pieces, then letters and a few merges. */
export function smallPieces(): ScoredPiece[] {
  const pieces: ScoredPiece[] = [
    { piece: '<unk>', score: 0, type: SPM_UNKNOWN }, { piece: '<s>', score: 0, type: SPM_CONTROL }, { piece: '</s>', score: 0, type: SPM_CONTROL },
  ];
  for (let b = 0; b < 256; b++) pieces.push({ piece: `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, score: 0, type: SPM_BYTE });
  const words = ['▁t', 'he', '▁the', '▁a', 'in', '▁in', 'er', '▁o', 'on', 're'];
  words.forEach((w, i) => pieces.push({ piece: w, score: -i, type: SPM_NORMAL }));
  for (const c of '▁etaoinshrdlucmfwypvbgkjqxz.,!?') pieces.push({ piece: c, score: -100, type: SPM_NORMAL });
  return pieces;
}

/** The small Llama-style tokenizer (with a ChatML fallback chat template). */
export function smallTokenizer(): Tokenizer {
  return tokenizerFromFiles(buildLlamaTokenizerJson(smallPieces(), { unkId: 0, bosId: 1, eosId: 2 }), { source: 'small-llama' });
}

const SAMPLE = 'Hello world, the cat sat on the mat.\nÜnïcödé 😀 \t tabs and  spaces <s> </s> 12345';

function encodeDecode(tok: Tokenizer): string {
  const ids = tok.encode(SAMPLE);
  const text = tok.decode(ids, { skipSpecialTokens: true });
  return `vocab ${tok.vocabSize}, ${ids.length} ids, ${text.length} chars`;
}

const tokenizerJson: Kind = {
  name: 'tokenizer.json',
  setup(root) {
    const gpt2Dir = join(root, 'gpt2-src');
    mkdirSync(gpt2Dir, { recursive: true });
    // GPT-2 byte-to-unicode alphabet of printable bytes + a few merges.
    const alphabet: string[] = [];
    for (let b = 0; b < 256; b++) {
      const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
      alphabet.push(String.fromCharCode(printable ? b : 256 + alphabet.filter((_, i) => !((i >= 33 && i <= 126) || (i >= 161 && i <= 172) || (i >= 174 && i <= 255))).length));
    }
    const merges = [['Ġ', 't'], ['h', 'e'], ['Ġt', 'he'], ['i', 'n'], ['Ġ', 'a']];
    const vocab: Record<string, number> = {};
    for (const c of alphabet) vocab[c] = Object.keys(vocab).length;
    for (const [a, b] of merges) vocab[a! + b!] = Object.keys(vocab).length;
    vocab['<|endoftext|>'] = Object.keys(vocab).length;
    writeFileSync(join(gpt2Dir, 'encoder.json'), JSON.stringify(vocab));
    writeFileSync(join(gpt2Dir, 'vocab.bpe'), `#version: 0.2\n${merges.map((m) => m.join(' ')).join('\n')}\n`);
    const jsons = [buildLlamaTokenizerJson(smallPieces(), { unkId: 0, bosId: 1, eosId: 2 }).tokenizerJson, convertGpt2Tokenizer(gpt2Dir).tokenizerJson];
    return jsons.map((json, i) => ({
      name: `tokenizer.json#${i}`, dir: null, file: 'tokenizer.json',
      mutate: (r: Rng) => mutateJson(json, r, { maxString: 50_000 }),
      run: (path: string) => encodeDecode(loadTokenizer(path)),
    }));
  },
};

/** SentencePiece ModelProto bytes (pieces, trainer_spec, normalizer_spec), written by hand. */
export function sentencePieceBytes(pieces: readonly ScoredPiece[]): Uint8Array {
  const field = (n: number, wire: number, body: Uint8Array) => concat(varintBytes(n * 8 + wire), wire === 2 ? varintBytes(body.length) : new Uint8Array(0), body);
  const f32 = (v: number) => new Uint8Array(new Float32Array([v]).buffer);
  const parts = pieces.map((p) => field(1, 2, concat(field(1, 2, enc.encode(p.piece)), field(2, 5, f32(p.score)), field(3, 0, varintBytes(p.type)))));
  const trainer = concat(field(3, 0, varintBytes(2)), field(35, 0, varintBytes(1)), field(40, 0, varintBytes(0)), field(41, 0, varintBytes(1)),
    field(42, 0, varintBytes(2)), field(43, 0, varintBytes(-1)));
  const normalizer = concat(field(1, 2, enc.encode('identity')), field(3, 0, varintBytes(1)), field(4, 0, varintBytes(0)));
  return concat(...parts, field(2, 2, trainer), field(3, 2, normalizer));
}

const tokenizerModel: Kind = {
  name: 'tokenizer.model',
  setup() {
    const bytes = sentencePieceBytes(smallPieces());
    return [{
      name: 'tokenizer.model#0', dir: null, file: 'tokenizer.model',
      mutate: (r: Rng) => {
        let [b, what] = mutateProto(bytes, r, new Set([1, 2, 3]));
        if (r.int(4) === 0) { const [b2, w2] = mutateProto(b, r, new Set([1, 2, 3])); [b, what] = [b2, `${what} + ${w2}`]; }
        return [b, what];
      },
      run: (path: string) => encodeDecode(loadTokenizer(path)),
    }];
  },
};

// ------------------------------------------------------------------------------------------ train YAML

const trainYaml: Kind = {
  name: 'train.yaml',
  setup() {
    const base = { model: 'models/stories260K', data: { path: 'data/alpaca.json', format: 'alpaca', maxLength: 512, evalSplit: 0.05 }, out: 'runs/x' };
    const seeds = [
      { ...base, method: { kind: 'lisa', gamma: 2, period: 5, sampling: 'uniform' }, optim: { lr: 1e-3, schedule: 'cosine', warmupSteps: 5 }, train: { steps: 100, batchSize: 4, evalEvery: 25 } },
      { ...base, method: { kind: 'lora', rank: 8, alpha: 16, targets: ['q_proj', 'v_proj'] }, optim: { lr: 2e-4, maxGradNorm: null, updateInBackward: false } },
      { model: { init: TINY_LLAMA, tokenizer: 'tok' }, data: { path: 'd.jsonl', packing: true }, method: { kind: 'full' }, train: { epochs: 1.5, backend: 'cpu-js' }, out: 'o' },
    ];
    return seeds.map((seed, i) => ({
      name: `train.yaml#${i}`, dir: null, file: 'config.yaml',
      mutate: (r: Rng) => mutateYaml(seed, r),
      run(path: string) {
        const c = loadConfig(path);
        return `method ${c.method.kind}, ${c.train.steps ?? c.train.epochs} steps/epochs`;
      },
    }));
  },
};

// ------------------------------------------------------------------------------------------ data files

const alpacaRows = [
  { instruction: 'Give three tips for staying healthy.', input: '', output: 'Eat well, sleep, and move.' },
  { instruction: 'Translate to French.', input: 'the cat', output: 'le chat' },
  { instruction: 'Say hi.', input: null, output: 'hi' },
];
const chatRows = [
  { messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi there' }, { role: 'assistant', content: 'Hello!' }] },
  { messages: [{ role: 'user', content: 'What is 2+2?' }, { role: 'assistant', content: '4' }, { role: 'user', content: 'and 3+3?' }, { role: 'assistant', content: '6' }] },
];
const textRows = [{ text: 'The cat sat on the mat. '.repeat(20) }, { text: 'in the orchard there were trees' }];
const tokRows = [{ input_ids: [1, 5, 7, 9, 2] }, { input_ids: [1, 3, 4], labels: [-100, 3, 4] }];
const gsmRows = [{ question: 'What is 2+3?', answer: '2+3=<<2+3=5>>5\n#### 5' }];
const shareRows = [
  { system: 'Be brief.', conversations: [{ from: 'human', value: 'Hi there' }, { from: 'gpt', value: 'Hello!' }] },
  { conversations: [{ from: 'user', value: 'What is 2+2?' }, { from: 'assistant', value: '4' }] },
];
const completionRows = [{ prompt: 'The capital of France is', completion: ' Paris.' }, { prompt: [{ role: 'user', content: 'Hi' }], completion: [{ role: 'assistant', content: 'Hello' }] }];
const historyRows = [{ instruction: 'And 3+3?', input: '', output: '6', history: [['What is 2+2?', '4']] }];
const pubmed = { '123': { QUESTION: 'Does it work?', CONTEXTS: ['We tested it.', 'It worked.'], final_decision: 'yes', LONG_ANSWER: 'Yes.' } };

type DataSeed = { format: Exclude<DataFormat, 'auto'>; file: string; rows: unknown[] | Record<string, unknown>; jsonl: boolean };
const dataSeeds: DataSeed[] = [
  { format: 'alpaca', file: 'alpaca.json', rows: alpacaRows, jsonl: false },
  { format: 'alpaca', file: 'alpaca.jsonl', rows: alpacaRows, jsonl: true },
  { format: 'chat', file: 'chat.jsonl', rows: chatRows, jsonl: true },
  { format: 'chat', file: 'chat.json', rows: chatRows, jsonl: false },
  { format: 'text', file: 'text.jsonl', rows: textRows, jsonl: true },
  { format: 'pretokenized', file: 'tokens.jsonl', rows: tokRows, jsonl: true },
  { format: 'gsm8k', file: 'gsm8k.jsonl', rows: gsmRows, jsonl: true },
  { format: 'pubmedqa', file: 'pubmedqa.json', rows: pubmed, jsonl: false },
  { format: 'sharegpt', file: 'sharegpt.jsonl', rows: shareRows, jsonl: true },
  { format: 'prompt-completion', file: 'completion.jsonl', rows: completionRows, jsonl: true },
  { format: 'alpaca', file: 'history.jsonl', rows: historyRows, jsonl: true },
];

function mutateData(s: DataSeed, r: Rng): [Uint8Array, string] {
  if (!s.jsonl || r.int(3) === 0) {
    if (r.int(3) === 0) return mutateBytes(enc.encode(s.jsonl ? (s.rows as unknown[]).map((x) => JSON.stringify(x)).join('\n') : JSON.stringify(s.rows)), r);
    if (!s.jsonl) return mutateJson(s.rows, r, { maxString: 100_000 });
  }
  const rows = s.rows as unknown[];
  const i = r.int(rows.length);
  const [line, what] = mutateJson(rows[i], r, { maxString: 100_000 });
  const lines: Uint8Array[] = rows.map((x) => enc.encode(JSON.stringify(x)));
  lines[i] = line;
  const sep = pick(r, ['\n', '\n', '\r\n', '\n\n']);
  return [enc.encode(lines.map((l) => dec.decode(l)).join(sep)), `line ${i + 1}: ${what}`];
}

const dataFiles: Kind = {
  name: 'data',
  setup() {
    const tok = smallTokenizer();
    return dataSeeds.map((s) => ({
      name: `data:${s.file}`, dir: null, file: s.file,
      mutate: (r: Rng) => mutateData(s, r),
      run(path: string, r: Rng) {
        const format = r.int(2) === 0 ? 'auto' : s.format;
        const { stats } = loadDataset({ path, format, maxLength: pick(r, [2, 16, 64]), maskPrompt: r.int(2) === 0, packing: r.int(3) === 0 }, tok, tok.vocabSize);
        return `${stats.format}: ${stats.records} records, ${stats.rows} rows`;
      },
    }));
  },
};

// ------------------------------------------------------------------------------------------ checkpoint state.json

const checkpoint: Kind = {
  name: 'state.json',
  setup(root) {
    const seeds: Seed[] = [];
    for (const kind of ['lisa', 'lora'] as const) {
      const model = createModel(parseConfig({ ...TINY_LLAMA, num_hidden_layers: 3 }));
      initWeights(model, new SeededRng(7));
      const opt = new AdamW({ lr: 1e-3 });
      const method = kind === 'lisa'
        ? new Lisa(model, opt, { gamma: 1, period: 2, sampling: 'reshuffle', seed: 3 })
        : new LoraFineTune(model, { rank: 2, alpha: 4, targets: 'all-linear', dropout: 0.1, seed: 3 });
      method.beginStep(0);
      const params = kind === 'lisa' ? model.parameters() : method.trainableParameters();
      opt.loadStateDict({ entries: method.trainableParameters().map((p) => ({ name: p.name!, step: 3, m: new Float32Array(p.size), v: new Float32Array(p.size).fill(1e-4) })) }, params);
      const out = join(root, kind);
      mkdirSync(out, { recursive: true });
      saveCheckpoint(out, params, opt, {
        version: 1, step: 4, dataCursor: 16, metricsLines: 4, methodState: method.saveState(),
        rngStates: method.rngStates(),
      });
      const dir = join(out, 'checkpoint');
      const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as unknown;
      const stream = new DataStream([{ ids: [1, 2], labels: [1, 2] }, { ids: [3, 4], labels: [3, 4] }], { batchSize: 2, shuffle: true, seed: 1 });
      seeds.push({
        name: `state.json:${kind}`, dir, file: 'state.json',
        mutate: (r: Rng) => mutateJson(state, r),
        run(path: string) {
          const s = loadCheckpoint(join(path, '..'), params, opt, method);
          stream.cursor = s.dataCursor;
          stream.next();
          method.beginStep(s.step);
          return `step ${s.step}`;
        },
      });
    }
    return seeds;
  },
};

export const KINDS: readonly Kind[] = [safetensors, hfConfig, tokenizerJson, tokenizerModel, trainYaml, dataFiles, checkpoint];
