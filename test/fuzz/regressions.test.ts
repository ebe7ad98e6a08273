// One test per bug the fuzzer found: each malformed file gives a typed error naming the file, quickly and
// without allocating what the file does not hold.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel, saveModel } from '../../src/models/load.js';
import { createModel, initWeights, parseConfig } from '../../src/models/index.js';
import { Rng } from '../../src/util/rng.js';
import { buildLlamaTokenizerJson } from '../../src/data/tokenizer-convert-common.js';
import { loadTokenizer, TokenizerFileError } from '../../src/data/tokenizer.js';
import { FormatError } from '../../src/io/errors.js';
import { ConfigError as ModelConfigError } from '../../src/models/config.js';
import { ConfigError, loadConfig } from '../../src/train/config.js';
import { openSafetensors } from '../../src/io/safetensors.js';
import { memoryReport } from '../../src/tensor/memory.js';
import { AdamW } from '../../src/optim/adamw.js';
import { CheckpointError, loadCheckpoint } from '../../src/train/checkpoint.js';
import { TINY_LLAMA, smallPieces, sentencePieceBytes } from './kinds.js';
import { concat, varintBytes } from './mutate.js';

const root = mkdtempSync(join(tmpdir(), 'lisa-fuzz-reg-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const deepJson = (n: number) => `${'['.repeat(n)}1${']'.repeat(n)}`;

describe('fuzz regressions', () => {
  const dir = join(root, 'llama');
  const m = createModel(parseConfig(TINY_LLAMA));
  initWeights(m, new Rng(1));
  saveModel(dir, m);
  m.dispose();
  const cfgPath = join(dir, 'config.json');

  it('config.json declaring sizes the weights cannot hold is refused before any parameter is allocated', () => {
    for (const change of [{ vocab_size: 1e9 }, { num_hidden_layers: 1e9 }, { head_dim: 2 ** 40 }, { hidden_size: 4096, num_attention_heads: 32 }]) {
      writeFileSync(cfgPath, JSON.stringify({ ...TINY_LLAMA, ...change }));
      const before = memoryReport().liveTotal;
      expect(() => loadModel(dir)).toThrow(FormatError);
      expect(() => loadModel(dir)).toThrow(cfgPath);
      expect(memoryReport().liveTotal).toBe(before);
    }
    writeFileSync(cfgPath, JSON.stringify({ ...TINY_LLAMA, num_hidden_layers: 1 }));
    expect(() => loadModel(dir)).toThrow(/model\.layers\.1\..*is not a parameter of a llama model with this config\.json/);
    writeFileSync(cfgPath, JSON.stringify(TINY_LLAMA));
    loadModel(dir).model.dispose();
  });

  it('deeply nested values in config.json, a safetensors header and the train YAML are typed errors, not stack overflows', () => {
    writeFileSync(cfgPath, JSON.stringify(TINY_LLAMA).replace('"hidden_size":8', `"hidden_size":${deepJson(20000)}`));
    expect(() => loadModel(dir)).toThrow(ModelConfigError);
    writeFileSync(cfgPath, `{"model_type": ${deepJson(20000)}}`);
    expect(() => loadModel(dir)).toThrow(/'model_type' must be a string/);
    writeFileSync(cfgPath, JSON.stringify(TINY_LLAMA));
    const st = join(root, 'deep.safetensors');
    const header = new TextEncoder().encode(`{"a": {"dtype": "F32", "shape": ${deepJson(20000)}, "data_offsets": [0, 4]}}`);
    const len = new Uint8Array(8);
    new DataView(len.buffer).setBigUint64(0, BigInt(header.length), true);
    writeFileSync(st, concat(len, header, new Uint8Array(4)));
    expect(() => openSafetensors(st)).toThrow(FormatError);
    const yamlPath = join(root, 'rec.yaml');
    writeFileSync(yamlPath, 'model: m\ndata: {path: d}\nout: o\ntrain: &a\n  self: *a\n');
    expect(() => loadConfig(yamlPath)).toThrow(ConfigError);
  });

  it('tokenizer.json ids far beyond the vocabulary, and a malformed post-processor, are TokenizerFileErrors', () => {
    const json = buildLlamaTokenizerJson(smallPieces(), { unkId: 0, bosId: 1, eosId: 2 }).tokenizerJson;
    const path = join(root, 'tok', 'tokenizer.json');
    mkdirSync(join(root, 'tok'), { recursive: true });
    writeFileSync(path, JSON.stringify({ ...json, model: { ...json.model, vocab: { ...(json.model.vocab as object), big: 2 ** 31 } } }));
    const t0 = performance.now();
    expect(() => loadTokenizer(path)).toThrow(TokenizerFileError);
    expect(performance.now() - t0).toBeLessThan(2000);
    writeFileSync(path, JSON.stringify({ ...json, post_processor: { type: 'TemplateProcessing', single: ['x'], pair: [], special_tokens: {} } }));
    expect(() => loadTokenizer(path).encode('hello')).toThrow(path);
  });

  it('a SentencePiece fixed-width field running past its message is refused', () => {
    const good = sentencePieceBytes(smallPieces());
    const path = join(root, 'bad.model');
    // A piece message whose last field is a 64-bit value with only 2 of its 8 bytes inside the message.
    const piece = concat(varintBytes((1 << 3) | 2), varintBytes(1), new TextEncoder().encode('q'), varintBytes((7 << 3) | 1), Uint8Array.from([1, 2]));
    writeFileSync(path, concat(varintBytes((1 << 3) | 2), varintBytes(piece.length), piece, good));
    expect(() => loadTokenizer(path)).toThrow(/64-bit field .* runs past its message/);
  });

  it('state.json of the wrong shape is a CheckpointError naming it, before any tensor is read', () => {
    const ck = join(root, 'ckpt');
    mkdirSync(ck, { recursive: true });
    const opt = new AdamW({ lr: 1e-3 });
    for (const text of ['null', '[]', '{"version": 1}', '{"version": 1, "step": -1, "dataCursor": 0, "metricsLines": 0}',
      '{"version": 1, "step": 1, "dataCursor": 0, "metricsLines": 0, "optimizerSteps": {"a": "x"}, "rngStates": {}}']) {
      writeFileSync(join(ck, 'state.json'), text);
      expect(() => loadCheckpoint(ck, [], opt)).toThrow(CheckpointError);
      expect(() => loadCheckpoint(ck, [], opt)).toThrow(join(ck, 'state.json'));
    }
  });
});
