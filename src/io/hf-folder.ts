// Hugging Face model folders: config.json, generation_config.json, single or sharded safetensors weights.

import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { isAbsolute, join, normalize, sep } from 'node:path';
import { writeTextAtomicSync } from './atomic.js';
import { FormatError, MissingFileError, WriteArgumentError } from './errors.js';
import { openSafetensors, type SafetensorsFile, type TensorInfo } from './safetensors.js';
import { writeSafetensors, type TensorToWrite, type WriteDtype } from './safetensors-write.js';

export const CONFIG_FILE = 'config.json';
export const GENERATION_CONFIG_FILE = 'generation_config.json';
export const SAFE_WEIGHTS_FILE = 'model.safetensors';
export const SAFE_WEIGHTS_INDEX_FILE = 'model.safetensors.index.json';
export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'] as const;
const SHARD_RE = /^model-\d{5}-of-\d{5}\.safetensors$/;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parse a JSON file that must hold an object. MissingFileError if absent, FormatError if not JSON. */
export function readJsonObject(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new MissingFileError(path, 'file does not exist');
    throw e;
  }
  let value: unknown;
  try {
    value = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (e) {
    throw new FormatError(path, `is not valid JSON (${(e as Error).message}); expected a JSON object`);
  }
  if (!isPlainObject(value)) throw new FormatError(path, `must hold a JSON object, found ${Array.isArray(value) ? 'an array' : typeof value}`);
  return value;
}

/** The model's config.json (required). */
export function readConfig(dir: string): Record<string, unknown> {
  return readJsonObject(join(dir, CONFIG_FILE));
}

/** generation_config.json, or undefined when the folder has none. */
export function readGenerationConfig(dir: string): Record<string, unknown> | undefined {
  const path = join(dir, GENERATION_CONFIG_FILE);
  return existsSync(path) ? readJsonObject(path) : undefined;
}

export type WeightsLayout =
  | { readonly kind: 'single'; readonly file: string }
  | {
      readonly kind: 'sharded';
      readonly indexFile: string;
      /** Shard paths (absolute or relative to cwd as `dir` was), in first-use order. */
      readonly shards: readonly string[];
      /** Tensor name -> shard path. */
      readonly weightMap: ReadonlyMap<string, string>;
      readonly metadata: Readonly<Record<string, unknown>>;
    };

/** Shard file names in an index must be plain relative names inside the folder. */
function checkShardName(indexFile: string, tensor: string, shard: unknown): string {
  if (typeof shard !== 'string' || shard === '') throw new FormatError(indexFile, `weight_map value must be a shard file name, found ${JSON.stringify(shard)}`, tensor);
  const n = normalize(shard);
  if (isAbsolute(shard) || n.startsWith('..') || n.split(sep).includes('..')) {
    throw new FormatError(indexFile, `shard ${JSON.stringify(shard)} points outside the model folder`, tensor);
  }
  return shard;
}

/**
 * Find the weights: `model.safetensors` (preferred, as transformers does) or `model.safetensors.index.json`
 * with its shards, all of which must exist. Only PyTorch `.bin` weights give a clear error.
 */
export function locateWeights(dir: string): WeightsLayout {
  const single = join(dir, SAFE_WEIGHTS_FILE);
  if (existsSync(single)) return { kind: 'single', file: single };
  const indexFile = join(dir, SAFE_WEIGHTS_INDEX_FILE);
  if (!existsSync(indexFile)) {
    const hasBin = existsSync(join(dir, 'pytorch_model.bin')) || existsSync(join(dir, 'pytorch_model.bin.index.json'));
    throw new MissingFileError(dir, hasBin
      ? `has only PyTorch .bin weights; convert them to ${SAFE_WEIGHTS_FILE} (safetensors) first`
      : `has neither ${SAFE_WEIGHTS_FILE} nor ${SAFE_WEIGHTS_INDEX_FILE}`);
  }
  const index = readJsonObject(indexFile);
  const wm = index['weight_map'];
  if (!isPlainObject(wm)) throw new FormatError(indexFile, '"weight_map" must be an object mapping tensor names to shard files', 'weight_map', 'key');
  const weightMap = new Map<string, string>();
  const shards: string[] = [];
  for (const [tensor, shard] of Object.entries(wm)) {
    const path = join(dir, checkShardName(indexFile, tensor, shard));
    if (!shards.includes(path)) {
      if (!existsSync(path) || !statSync(path).isFile()) {
        throw new MissingFileError(path, `shard named in ${indexFile} does not exist`, { key: tensor, referencedBy: indexFile });
      }
      shards.push(path);
    }
    weightMap.set(tensor, path);
  }
  const metadata = isPlainObject(index['metadata']) ? index['metadata'] : {};
  return { kind: 'sharded', indexFile, shards, weightMap, metadata };
}

/** Tensor info plus the file it lives in. */
export interface LocatedTensorInfo extends TensorInfo {
  readonly file: string;
}

/** All tensors of a model folder, across shards. Holds one file descriptor per shard until `close()`. */
export class ModelWeights {
  readonly dir: string;
  readonly layout: WeightsLayout;
  private readonly files = new Map<string, SafetensorsFile>();
  private readonly where = new Map<string, SafetensorsFile>();

  /** Use `openModelWeights`. */
  constructor(dir: string, layout: WeightsLayout) {
    this.dir = dir;
    this.layout = layout;
    try {
      if (layout.kind === 'single') {
        const f = openSafetensors(layout.file);
        this.files.set(layout.file, f);
        for (const n of f.names()) this.where.set(n, f);
        return;
      }
      for (const shard of layout.shards) this.files.set(shard, openSafetensors(shard));
      for (const [tensor, shard] of layout.weightMap) {
        const f = this.files.get(shard)!;
        if (!f.has(tensor)) {
          throw new FormatError(shard, `is listed in ${layout.indexFile} for this shard but the shard does not contain it`, tensor);
        }
        this.where.set(tensor, f);
      }
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /** Tensor names, grouped by shard in file order (sequential reads). With an index, only the tensors it lists. */
  names(): string[] {
    const out: string[] = [];
    for (const f of this.files.values()) for (const n of f.names()) if (this.where.get(n) === f) out.push(n);
    return out;
  }

  has(name: string): boolean {
    return this.where.has(name);
  }

  info(name: string): LocatedTensorInfo {
    const f = this.file(name);
    return { ...f.info(name), file: f.path };
  }

  read(name: string): Float32Array {
    return this.file(name).read(name);
  }

  readInto(name: string, out: Float32Array): Float32Array {
    return this.file(name).readInto(name, out);
  }

  /** Reads a tensor as bfloat16 bits (BF16 as stored; others rounded RNE); returns the stored dtype. */
  readIntoBf16(name: string, out: Uint16Array): string {
    return this.file(name).readIntoBf16(name, out);
  }

  close(): void {
    for (const f of this.files.values()) f.close();
  }

  private file(name: string): SafetensorsFile {
    const f = this.where.get(name);
    if (f === undefined) {
      const src = this.layout.kind === 'single' ? this.layout.file : this.layout.indexFile;
      throw new FormatError(src, `not found in the model weights of ${this.dir} (${this.where.size} tensors)`, name);
    }
    return f;
  }
}

/** Open a model folder's weights (validating every header, shard and index entry). */
export function openModelWeights(dir: string): ModelWeights {
  return new ModelWeights(dir, locateWeights(dir));
}

export type TensorCallback = (name: string, info: LocatedTensorInfo, read: () => Float32Array) => void;

/**
 * Visit every tensor (or only `names`, each of which must exist) shard by shard in file order. `read()`
 * loads that tensor only when called, so a caller can stream a large model into its parameters.
 */
export function forEachTensor(dir: string, cb: TensorCallback, opts: { names?: Iterable<string> } = {}): void {
  const w = openModelWeights(dir);
  try {
    let names = w.names();
    if (opts.names !== undefined) {
      const wanted = new Set(opts.names);
      for (const n of wanted) w.info(n); // throws a FormatError naming the missing tensor
      names = names.filter((n) => wanted.has(n));
    }
    for (const n of names) cb(n, w.info(n), () => w.read(n));
  } finally {
    w.close();
  }
}

/** Load all tensors (or only `names`) of a model folder as float32. */
export function loadAllTensors(dir: string, names?: Iterable<string>): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  forEachTensor(dir, (n, _info, read) => out.set(n, read()), names === undefined ? {} : { names });
  return out;
}

/** Parse a shard size: bytes, or a string like "5GB", "500MB", "2GiB" (transformers' units). */
export function parseByteSize(size: number | string): number {
  if (typeof size === 'number') {
    if (!Number.isSafeInteger(size) || size <= 0) throw new RangeError(`shard size must be a positive integer of bytes, got ${size}`);
    return size;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?\s*$/i.exec(size);
  if (m === null) throw new RangeError(`shard size ${JSON.stringify(size)} is not like "5GB", "500MB" or a byte count`);
  const unit = (m[2] ?? 'B').toUpperCase();
  const pow = { B: 0, K: 1, M: 2, G: 3, T: 4 }[unit[0] as 'B' | 'K' | 'M' | 'G' | 'T'];
  const base = unit.includes('I') ? 1024 : 1000;
  return Math.floor(Number(m[1]) * base ** pow);
}

export interface WriteHfFolderOptions {
  readonly config: Readonly<Record<string, unknown>>;
  readonly generationConfig?: Readonly<Record<string, unknown>>;
  readonly tensors: readonly TensorToWrite[];
  /** Storage dtype (default F32). */
  readonly dtype?: WriteDtype;
  /** Shard when the weights exceed this ("5GB" like transformers, or bytes). Default: never shard. */
  readonly maxShardSize?: number | string;
  readonly metadata?: Readonly<Record<string, string>>;
}

/** Bytes of one tensor's data in the output dtype. */
function dataBytes(t: TensorToWrite, dtype: WriteDtype): number {
  return t.data.length * ((t.dtype ?? dtype) === 'F32' ? 4 : 2);
}

/** Remove weight files a previous export left that this one does not write (they would shadow or confuse). */
function removeStaleWeights(dir: string, keep: ReadonlySet<string>): void {
  for (const name of readdirSync(dir)) {
    if ((name === SAFE_WEIGHTS_FILE || name === SAFE_WEIGHTS_INDEX_FILE || SHARD_RE.test(name)) && !keep.has(name)) {
      rmSync(join(dir, name), { force: true });
    }
  }
}

/**
 * Write an HF folder: config.json, generation_config.json (when given) and model.safetensors, or shards
 * `model-0000i-of-0000n.safetensors` plus model.safetensors.index.json when larger than `maxShardSize`.
 * Every file is written atomically; the index is written last, then weight files of an earlier export
 * that this one did not write are removed. Returns the weight file names written.
 */
export function writeHfFolder(dir: string, opts: WriteHfFolderOptions): string[] {
  const dtype = opts.dtype ?? 'F32';
  const max = opts.maxShardSize === undefined ? Infinity : parseByteSize(opts.maxShardSize);
  if (!isPlainObject(opts.config)) throw new WriteArgumentError(join(dir, CONFIG_FILE), 'config must be an object');
  const seen = new Set<string>();
  for (const t of opts.tensors) {
    if (seen.has(t.name)) throw new WriteArgumentError(dir, 'is given twice', t.name);
    seen.add(t.name);
  }
  mkdirSync(dir, { recursive: true });
  // Greedy split in the given order (huggingface_hub's rule): a tensor bigger than the limit gets its own shard.
  const groups: TensorToWrite[][] = [];
  let current: TensorToWrite[] = [];
  let size = 0;
  for (const t of opts.tensors) {
    const b = dataBytes(t, dtype);
    if (current.length > 0 && size + b > max) {
      groups.push(current);
      current = [];
      size = 0;
    }
    current.push(t);
    size += b;
  }
  if (current.length > 0 || groups.length === 0) groups.push(current);

  writeTextAtomicSync(join(dir, CONFIG_FILE), `${JSON.stringify(opts.config, null, 2)}\n`);
  if (opts.generationConfig !== undefined) {
    writeTextAtomicSync(join(dir, GENERATION_CONFIG_FILE), `${JSON.stringify(opts.generationConfig, null, 2)}\n`);
  }
  const wopts = { dtype, ...(opts.metadata === undefined ? {} : { metadata: opts.metadata }) };
  if (groups.length === 1) {
    writeSafetensors(join(dir, SAFE_WEIGHTS_FILE), groups[0]!, wopts);
    removeStaleWeights(dir, new Set([SAFE_WEIGHTS_FILE]));
    return [SAFE_WEIGHTS_FILE];
  }
  const names = groups.map((_, i) => `model-${String(i + 1).padStart(5, '0')}-of-${String(groups.length).padStart(5, '0')}.safetensors`);
  const weightMap: Record<string, string> = {};
  let totalSize = 0;
  groups.forEach((g, i) => {
    writeSafetensors(join(dir, names[i]!), g, wopts);
    for (const t of g) {
      weightMap[t.name] = names[i]!;
      totalSize += dataBytes(t, dtype);
    }
  });
  const sortedMap = Object.fromEntries(Object.keys(weightMap).sort().map((k) => [k, weightMap[k]]));
  const index = { metadata: { total_size: totalSize }, weight_map: sortedMap };
  writeTextAtomicSync(join(dir, SAFE_WEIGHTS_INDEX_FILE), `${JSON.stringify(index, null, 2)}\n`);
  removeStaleWeights(dir, new Set([...names, SAFE_WEIGHTS_INDEX_FILE]));
  return [...names, SAFE_WEIGHTS_INDEX_FILE];
}

/** Copy the tokenizer files present in `srcDir` (tokenizer.json, its config, special tokens, tokenizer.model). */
export function copyTokenizerFiles(srcDir: string, dstDir: string): string[] {
  mkdirSync(dstDir, { recursive: true });
  const copied: string[] = [];
  for (const f of [...TOKENIZER_FILES, 'tokenizer.model']) {
    if (existsSync(join(srcDir, f))) {
      copyFileSync(join(srcDir, f), join(dstDir, f));
      copied.push(f);
    }
  }
  return copied;
}
