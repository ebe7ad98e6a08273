// llama2.c import: stories260K converted to an HF folder matches an independent PyTorch float64 run.c forward
// (logits and the whole greedy continuation from BOS); the RoPE row permutation equals running llama2.c's own
// rows with interleaved RoPE; truncated files and bad headers give errors naming the file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  convertLlama2cCheckpoint, llama2cHfConfig, llama2cWeightCount, permuteRopeRows, readLlama2cCheckpoint, readLlama2cHeader,
  type Llama2cHeader,
} from '../../src/io/llama2c.js';
import { FormatError, MissingFileError } from '../../src/io/errors.js';
import { convertLlama2cTokenizer, loadTokenizer, writeTokenizerFiles } from '../../src/data/tokenizer.js';
import { loadModel, parseConfig, LlamaModel, type CausalLM, type LlamaConfig } from '../../src/models/index.js';
import { generate } from '../../src/models/generate.js';
import { noGrad } from '../../src/autograd/tape.js';
import type { Backend } from '../../src/backends/backend.js';
import type { TensorToWrite } from '../../src/io/safetensors-write.js';
import { Rng } from '../../src/util/rng.js';
import { haveSharedData, repoRoot, sharedData } from '../helpers.js';
import { BACKENDS } from '../backends-under-test.js';
import { tempDir, rmTemp } from './fixtures.js';

interface StoriesFixture {
  sha256: string;
  config: { dim: number; n_layers: number; vocab_size: number; seq_len: number; shared_classifier: boolean };
  logits: { ids: number[]; values: number[][] };
  greedy: { prompt: number[]; maxNewTokens: number; tokens: number[]; stop: string };
}
const fixture = JSON.parse(readFileSync(join(repoRoot, 'test/fixtures/stories260k.json'), 'utf8')) as StoriesFixture;
const STORIES = join(sharedData, 'models/stories260K');
const EXPECTED_START = 'Once upon a time, there was a little girl named Lily. She loved to play outside in the park.';

const temps: string[] = [];
const tmp = () => {
  const d = tempDir('lisa-l2c-');
  temps.push(d);
  return d;
};
afterAll(() => temps.forEach(rmTemp));

/** Logits (T, V) of ids as plain rows. */
function logitsOf(model: CausalLM, ids: number[]): number[][] {
  return noGrad(() => {
    const y = model.forward(Int32Array.from(ids), 1, ids.length).toArray(); // (1, T, V)
    const V = model.config.vocabSize;
    const rows = ids.map((_, t) => y.slice(t * V, (t + 1) * V));
    return rows;
  });
}

function maxAbsDiff(a: number[][], b: number[][]): number {
  let m = 0;
  a.forEach((row, i) => row.forEach((x, j) => (m = Math.max(m, Math.abs(x - b[i][j])))));
  return m;
}

/** A LlamaModel with the given layout whose parameters are filled from checkpoint tensors. */
function modelFromTensors(header: Llama2cHeader, tensors: TensorToWrite[], ropeLayout: 'half' | 'interleaved', backend: Backend): LlamaModel {
  const cfg = { ...(parseConfig(llama2cHfConfig(header)) as LlamaConfig), ropeLayout };
  const model = new LlamaModel(cfg, { backend });
  const names = model.namedParameters().map(([n]) => n).sort();
  expect(tensors.map((t) => t.name).sort()).toEqual(names);
  for (const t of tensors) {
    const p = model.getParameter(t.name);
    expect(p.shape).toEqual(t.shape);
    p.buf.set(t.data);
  }
  return model;
}

/** A synthetic legacy checkpoint with random weights (negative vocab = unshared classifier). */
function writeSyntheticBin(path: string, h: { dim: number; hidden: number; L: number; nh: number; nkv: number; vocab: number; seq: number }, seed = 3): Llama2cHeader {
  const header: Llama2cHeader = { dim: h.dim, hiddenDim: h.hidden, nLayers: h.L, nHeads: h.nh, nKvHeads: h.nkv, vocabSize: Math.abs(h.vocab), seqLen: h.seq, sharedClassifier: h.vocab > 0 };
  const n = llama2cWeightCount(header);
  const buf = Buffer.alloc(28 + 4 * n);
  [h.dim, h.hidden, h.L, h.nh, h.nkv, h.vocab, h.seq].forEach((v, i) => buf.writeInt32LE(v, 4 * i));
  const rng = new Rng(seed);
  for (let i = 0; i < n; i++) buf.writeFloatLE(0.4 * rng.normal(), 28 + 4 * i);
  writeFileSync(path, buf);
  return header;
}

describe('permuteRopeRows', () => {
  it('moves interleaved pairs (2i, 2i+1) to rotate-half pairs (i, i + hs/2), per head', () => {
    // 2 heads of size 4, one column: row r holds r.
    const w = Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(Array.from(permuteRopeRows(w, 2, 8, 1))).toEqual([0, 2, 1, 3, 4, 6, 5, 7]);
    // Two columns travel with their row.
    const w2 = Float32Array.from([0, 10, 1, 11, 2, 12, 3, 13]);
    expect(Array.from(permuteRopeRows(w2, 1, 4, 2))).toEqual([0, 10, 2, 12, 1, 11, 3, 13]);
  });
});

describe('llama2.c checkpoint (synthetic, unshared classifier, GQA)', () => {
  const dims = { dim: 16, hidden: 24, L: 2, nh: 4, nkv: 2, vocab: -40, seq: 24 };

  it('converted half-layout model equals llama2.c rows run with interleaved RoPE', () => {
    const bin = join(tmp(), 'tiny.bin');
    writeSyntheticBin(bin, dims);
    const out = tmp();
    const { header, files } = convertLlama2cCheckpoint(bin, out);
    expect(files).toEqual(['model.safetensors']);
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(cfg).toMatchObject({ model_type: 'llama', tie_word_embeddings: false, rms_norm_eps: 1e-5, rope_theta: 10000, bos_token_id: 1, eos_token_id: 2, max_position_embeddings: 24, num_key_value_heads: 2 });
    const ids = [1, 5, 39, 0, 17, 22, 8, 30, 2, 11];
    for (const [, backend] of BACKENDS) {
      const half = loadModel(out, { backend }).model;
      expect(half.namedParameters().map(([n]) => n)).toContain('lm_head.weight');
      const raw = readLlama2cCheckpoint(bin, { ropeLayout: 'interleaved' });
      const inter = modelFromTensors(header, raw.tensors, 'interleaved', backend);
      const a = logitsOf(half, ids);
      const b = logitsOf(inter, ids);
      expect(maxAbsDiff(a, b)).toBeLessThan(1e-5);
      // The permutation matters: llama2.c's rows with rotate-half RoPE give other logits.
      const wrong = modelFromTensors(header, raw.tensors, 'half', backend);
      expect(maxAbsDiff(logitsOf(wrong, ids), b)).toBeGreaterThan(1e-3);
      [half, inter, wrong].forEach((m) => m.dispose());
    }
  });

  it('bad files: errors name the file and say what was expected', () => {
    const dir = tmp();
    const bin = join(dir, 'tiny.bin');
    writeSyntheticBin(bin, dims);
    const good = readFileSync(bin);

    const truncated = join(dir, 'truncated.bin');
    writeFileSync(truncated, good.subarray(0, good.length - 12));
    expect(() => readLlama2cCheckpoint(truncated)).toThrow(FormatError);
    expect(() => readLlama2cCheckpoint(truncated)).toThrow(new RegExp(`${truncated.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: has ${good.length - 12} bytes but its header \\(dim 16, .*\\) needs exactly ${good.length}; the file is truncated`));

    const trailing = join(dir, 'trailing.bin');
    writeFileSync(trailing, Buffer.concat([good, Buffer.alloc(8)]));
    expect(() => readLlama2cHeader(trailing)).toThrow(/8 unexpected trailing bytes/);

    const badKv = join(dir, 'bad-kv.bin');
    const b1 = Buffer.from(good);
    b1.writeInt32LE(3, 16); // n_kv_heads = 3 does not divide n_heads = 4
    writeFileSync(badKv, b1);
    expect(() => readLlama2cCheckpoint(badKv)).toThrow(/bad-kv\.bin: header field "n_kv_heads": 3 must divide n_heads 4/);

    const badDim = join(dir, 'bad-dim.bin');
    const b2 = Buffer.from(good);
    b2.writeInt32LE(-16, 0);
    writeFileSync(badDim, b2);
    expect(() => readLlama2cCheckpoint(badDim)).toThrow(/bad-dim\.bin: header field "dim": is -16; expected a positive integer/);

    const oddHead = join(dir, 'odd-head.bin');
    const b3 = Buffer.from(good);
    b3.writeInt32LE(15, 0); // dim 15 with 3 heads -> head size 5
    b3.writeInt32LE(3, 12);
    b3.writeInt32LE(3, 16);
    writeFileSync(oddHead, b3);
    expect(() => readLlama2cHeader(oddHead)).toThrow(/header field "n_heads": gives head size 5; RoPE needs an even head size/);

    const short = join(dir, 'short.bin');
    writeFileSync(short, good.subarray(0, 10));
    expect(() => readLlama2cHeader(short)).toThrow(/short\.bin: has 10 bytes; a llama2\.c checkpoint starts with a 28-byte header/);

    const v1 = join(dir, 'v1.bin');
    const b4 = Buffer.from(good);
    b4.writeUInt32LE(0x616b3432, 0);
    b4.writeInt32LE(1, 4);
    writeFileSync(v1, b4);
    expect(() => readLlama2cHeader(v1)).toThrow(/v1\.bin: is a llama2\.c version-1 export \(magic "ak42"\); only the legacy format/);

    expect(() => readLlama2cHeader(join(dir, 'missing.bin'))).toThrow(MissingFileError);
    expect(() => readLlama2cHeader(join(dir, 'missing.bin'))).toThrow(/missing\.bin: llama2\.c checkpoint does not exist/);
  });
});

const haveData = haveSharedData();
describe.skipIf(!haveData)('stories260K (llama2.c) converted to HF', () => {
  let dir = '';
  beforeAll(() => {
    dir = tmp();
    convertLlama2cCheckpoint(join(STORIES, 'stories260K.bin'), dir);
    writeTokenizerFiles(dir, convertLlama2cTokenizer(join(STORIES, 'tok512.bin')));
  });

  it('is the checkpoint the fixture was made from', () => {
    const h = readLlama2cHeader(join(STORIES, 'stories260K.bin'));
    expect(h).toMatchObject({ dim: fixture.config.dim, nLayers: fixture.config.n_layers, vocabSize: fixture.config.vocab_size, seqLen: fixture.config.seq_len, sharedClassifier: true });
    expect(h).toMatchObject({ hiddenDim: 172, nHeads: 8, nKvHeads: 4 });
  });

  it.each(BACKENDS)('%s: logits match the PyTorch float64 run.c forward (atol 1e-4)', (_n, backend) => {
    const model = loadModel(dir, { backend }).model;
    expect(maxAbsDiff(logitsOf(model, fixture.logits.ids), fixture.logits.values)).toBeLessThan(1e-4);
    model.dispose();
  });

  it.each(BACKENDS)('%s: raw llama2.c weights with interleaved RoPE give the same logits as the converted model', (_n, backend) => {
    const raw = readLlama2cCheckpoint(join(STORIES, 'stories260K.bin'), { ropeLayout: 'interleaved' });
    const inter = modelFromTensors(raw.header, raw.tensors, 'interleaved', backend);
    const half = loadModel(dir, { backend }).model;
    const ids = [...fixture.greedy.prompt, ...fixture.greedy.tokens.slice(0, 40)];
    expect(maxAbsDiff(logitsOf(inter, ids), logitsOf(half, ids))).toBeLessThan(1e-4);
    expect(maxAbsDiff(logitsOf(inter, fixture.logits.ids), fixture.logits.values)).toBeLessThan(1e-4);
    inter.dispose();
    half.dispose();
  });

  it.each(BACKENDS)('%s: greedy generation from BOS gives the fixture\'s whole token sequence and the known story', (_n, backend) => {
    const model = loadModel(dir, { backend }).model;
    const r = generate(model, [1], { maxNewTokens: fixture.greedy.maxNewTokens, temperature: 0, eosIds: [1, 2] });
    expect(r.tokens).toEqual(fixture.greedy.tokens);
    expect(r.stopReason).toBe(fixture.greedy.stop === 'length' ? 'length' : 'eos');
    const text = loadTokenizer(dir).decode([1, ...r.tokens], { skipSpecialTokens: true });
    expect(text.startsWith(EXPECTED_START)).toBe(true);
    model.dispose();
  });

  it('writes an HF folder: config, generation config (BOS also stops, as in run.c), tokenizer files', () => {
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(cfg).toMatchObject({ architectures: ['LlamaForCausalLM'], hidden_size: 64, intermediate_size: 172, num_hidden_layers: 5,
      num_attention_heads: 8, num_key_value_heads: 4, vocab_size: 512, max_position_embeddings: 512, tie_word_embeddings: true,
      rms_norm_eps: 1e-5, rope_theta: 10000, bos_token_id: 1, eos_token_id: 2 });
    expect(JSON.parse(readFileSync(join(dir, 'generation_config.json'), 'utf8'))).toEqual({ bos_token_id: 1, eos_token_id: [2, 1] });
    const tok = loadTokenizer(dir);
    expect([tok.bosId, tok.eosId, tok.vocabSize]).toEqual([1, 2, 512]);
    expect(tok.encode('')).toEqual([1]);
  });
});
