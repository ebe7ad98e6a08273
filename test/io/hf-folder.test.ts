// Tests for HF folders: config files, single and sharded weights, the folder writer, and broken folders.

import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  forEachTensor, loadAllTensors, locateWeights, openModelWeights, parseByteSize, readConfig, readGenerationConfig, writeHfFolder,
} from '../../src/io/hf-folder.js';
import { FormatError, MissingFileError } from '../../src/io/errors.js';
import { writeSafetensors } from '../../src/io/safetensors.js';
import { roundToBf16 } from '../../src/io/dtype.js';
import { rmTemp, rng, tempDir } from './fixtures.js';

const root = tempDir('lisa-hf-');
afterAll(() => rmTemp(root));
let n = 0;
const newDir = (): string => {
  const d = join(root, `m${n++}`);
  mkdirSync(d);
  return d;
};

function tensors(): { name: string; shape: number[]; data: Float32Array }[] {
  const r = rng(7);
  const mk = (name: string, shape: number[]): { name: string; shape: number[]; data: Float32Array } => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = r() - 0.5;
    return { name, shape, data };
  };
  return [
    mk('model.embed_tokens.weight', [16, 8]),
    mk('model.layers.0.self_attn.q_proj.weight', [8, 8]),
    mk('model.layers.0.mlp.up_proj.weight', [12, 8]),
    mk('model.layers.1.self_attn.q_proj.weight', [8, 8]),
    mk('model.norm.weight', [8]),
    mk('lm_head.weight', [16, 8]),
  ];
}
const config = { architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 8, num_hidden_layers: 2 };

describe('HF folder', () => {
  it('writes and reads a single-file folder with config and generation config', () => {
    const d = newDir();
    const ts = tensors();
    expect(writeHfFolder(d, { config, generationConfig: { bos_token_id: 1 }, tensors: ts })).toEqual(['model.safetensors']);
    expect(readConfig(d)).toEqual(config);
    expect(readGenerationConfig(d)).toEqual({ bos_token_id: 1 });
    expect(locateWeights(d).kind).toBe('single');
    const all = loadAllTensors(d);
    expect(all.size).toBe(ts.length);
    for (const t of ts) expect(all.get(t.name)).toEqual(t.data);
  });

  it('readGenerationConfig is undefined when absent', () => {
    const d = newDir();
    writeFileSync(join(d, 'config.json'), '{}');
    expect(readGenerationConfig(d)).toBeUndefined();
  });

  it('shards above maxShardSize, writes the index, and loads across shards (BF16)', () => {
    const d = newDir();
    const ts = tensors();
    const files = writeHfFolder(d, { config, tensors: ts, dtype: 'BF16', maxShardSize: 300 });
    expect(files.at(-1)).toBe('model.safetensors.index.json');
    expect(files.length).toBeGreaterThan(2);
    const index = JSON.parse(readFileSync(join(d, 'model.safetensors.index.json'), 'utf8'));
    expect(index.metadata.total_size).toBe(ts.reduce((a, t) => a + t.data.length * 2, 0));
    expect(Object.keys(index.weight_map).sort()).toEqual(ts.map((t) => t.name).sort());
    const layout = locateWeights(d);
    expect(layout.kind).toBe('sharded');
    const seen: string[] = [];
    forEachTensor(d, (name, info, read) => {
      seen.push(name);
      expect(info.dtype).toBe('BF16');
      expect(info.file).toContain('-of-');
      const t = ts.find((x) => x.name === name)!;
      expect(read()).toEqual(roundToBf16(t.data));
    });
    expect(seen.sort()).toEqual(ts.map((t) => t.name).sort());
    const some = loadAllTensors(d, ['model.norm.weight']);
    expect([...some.keys()]).toEqual(['model.norm.weight']);
    expect(() => loadAllTensors(d, ['nope'])).toThrow(FormatError);
    // re-export unsharded into the same folder removes the old shards and index
    writeHfFolder(d, { config, tensors: ts });
    expect(existsSync(join(d, 'model.safetensors.index.json'))).toBe(false);
    expect(locateWeights(d).kind).toBe('single');
  });

  it('parses shard sizes like transformers', () => {
    expect(parseByteSize('5GB')).toBe(5e9);
    expect(parseByteSize('500MB')).toBe(5e8);
    expect(parseByteSize('2GiB')).toBe(2 * 1024 ** 3);
    expect(parseByteSize(1234)).toBe(1234);
    expect(() => parseByteSize('lots')).toThrow(/lots/);
  });

  it('missing tensor in a shard names the shard, the tensor and the index', () => {
    const d = newDir();
    const files = writeHfFolder(d, { config, tensors: tensors(), maxShardSize: 300 });
    const indexPath = join(d, 'model.safetensors.index.json');
    const index = JSON.parse(readFileSync(indexPath, 'utf8'));
    index.weight_map['model.ghost.weight'] = files[0];
    writeFileSync(indexPath, JSON.stringify(index));
    let err: unknown;
    try { openModelWeights(d); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(FormatError);
    expect(err).not.toBeInstanceOf(MissingFileError);
    const msg = (err as Error).message;
    expect(msg).toContain(files[0]);
    expect(msg).toContain('does not contain it');
    expect(msg).toContain('"model.ghost.weight"');
    expect(msg).toContain('model.safetensors.index.json');
  });

  it('missing shard file names the shard, a tensor in it and the index', () => {
    const d = newDir();
    const files = writeHfFolder(d, { config, tensors: tensors(), maxShardSize: 300 });
    rmSync(join(d, files[1]!));
    let err: unknown;
    try { locateWeights(d); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(MissingFileError);
    expect((err as Error).message).toContain(files[1]);
    expect((err as Error).message).toContain('model.safetensors.index.json');
    expect((err as MissingFileError).key).toBeDefined();
    expect((err as Error).message).toContain((err as MissingFileError).key!);
  });

  it('index pointing outside the folder or without weight_map is rejected', () => {
    const d = newDir();
    writeFileSync(join(d, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { w: '../x.safetensors' } }));
    expect(() => locateWeights(d)).toThrow(/"w".*outside/);
    writeFileSync(join(d, 'model.safetensors.index.json'), JSON.stringify({ metadata: {} }));
    expect(() => locateWeights(d)).toThrow(/weight_map/);
  });

  it('non-JSON config.json names the file', () => {
    const d = newDir();
    writeFileSync(join(d, 'config.json'), '{"hidden_size": 8,');
    let err: unknown;
    try { readConfig(d); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(FormatError);
    expect((err as FormatError).file).toBe(join(d, 'config.json'));
    expect((err as Error).message).toContain(join(d, 'config.json'));
    expect((err as Error).message).toContain('not valid JSON');
    writeFileSync(join(d, 'config.json'), '[1]');
    expect(() => readConfig(d)).toThrow(/JSON object/);
  });

  it('missing config.json and missing weights give MissingFileError', () => {
    const d = newDir();
    expect(() => readConfig(d)).toThrow(MissingFileError);
    expect(() => locateWeights(d)).toThrow(/neither model.safetensors nor model.safetensors.index.json/);
    writeFileSync(join(d, 'pytorch_model.bin'), '');
    expect(() => locateWeights(d)).toThrow(/PyTorch .bin/);
  });

  it('prefers model.safetensors over an index, as transformers does', () => {
    const d = newDir();
    writeSafetensors(join(d, 'model.safetensors'), [{ name: 'w', shape: [1], data: new Float32Array([3]) }]);
    writeFileSync(join(d, 'model.safetensors.index.json'), 'garbage');
    expect([...loadAllTensors(d).get('w')!]).toEqual([3]);
  });
});
