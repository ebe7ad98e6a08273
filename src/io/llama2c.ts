// llama2.c legacy checkpoints (.bin, export version 0): header and weights in run.c's order, read as HF Llama
// tensors (q/k rows permuted from llama2.c's interleaved RoPE pairs to HF rotate-half) and written as an HF folder.
import { closeSync, fstatSync, openSync } from 'node:fs';
import { endianness } from 'node:os';
import { readFullySync } from './atomic.js';
import { FormatError, MissingFileError } from './errors.js';
import { writeHfFolder } from './hf-folder.js';
import type { TensorToWrite } from './safetensors-write.js';

/** The 7 int32 header fields of a legacy llama2.c checkpoint. */
export interface Llama2cHeader {
  dim: number;        // C
  hiddenDim: number;  // MLP width
  nLayers: number;    // L
  nHeads: number;     // nh
  nKvHeads: number;   // nkv
  vocabSize: number;  // V (the header stores -V when the classifier is not shared)
  seqLen: number;     // maximum T
  /** True when the classifier is the token embedding (header vocab_size > 0). */
  sharedClassifier: boolean;
}

export interface Llama2cCheckpoint {
  file: string;
  header: Llama2cHeader;
  /** HF Llama names and shapes, in checkpoint order. */
  tensors: TensorToWrite[];
}

const HEADER_BYTES = 28;
const HEADER_FIELDS = ['dim', 'hidden_dim', 'n_layers', 'n_heads', 'n_kv_heads', 'vocab_size', 'seq_len'] as const;
/** "ak42" little-endian: the magic of llama2.c's newer export versions (1 and 2), which are not this format. */
const AK42_MAGIC = 0x616b3432;
const LITTLE_ENDIAN_HOST = endianness() === 'LE';

/** Float32 count of the weights (and skipped RoPE tables) a header implies. */
export function llama2cWeightCount(h: Llama2cHeader): number {
  const hs = h.dim / h.nHeads;
  const kvDim = h.nKvHeads * hs;
  const perLayer = 2 * h.dim + 2 * h.dim * h.dim + 2 * kvDim * h.dim + 3 * h.hiddenDim * h.dim;
  return h.vocabSize * h.dim + h.nLayers * perLayer + h.dim + h.seqLen * hs + (h.sharedClassifier ? 0 : h.vocabSize * h.dim);
}

function parseHeader(file: string, bytes: Uint8Array, size: number): Llama2cHeader {
  if (size < HEADER_BYTES) {
    throw new FormatError(file, `has ${size} bytes; a llama2.c checkpoint starts with a ${HEADER_BYTES}-byte header of 7 int32 (${HEADER_FIELDS.join(', ')})`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  const v = HEADER_FIELDS.map((_, i) => dv.getInt32(4 * i, true));
  if (v[0] === AK42_MAGIC) {
    throw new FormatError(file, `is a llama2.c version-${v[1]} export (magic "ak42"); only the legacy format (export.py --version 0) is supported`);
  }
  const field = (i: number, detail: string) => new FormatError(file, `${detail} (header: ${HEADER_FIELDS.map((n, j) => `${n}=${v[j]}`).join(', ')})`, HEADER_FIELDS[i], 'header field');
  v.forEach((x, i) => {
    if (i === 5 ? x === 0 : x <= 0) throw field(i, `is ${x}; expected a positive integer${i === 5 ? ' (negative for an unshared classifier)' : ''}`);
  });
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, vocab, seqLen] = v as [number, number, number, number, number, number, number];
  if (dim % nHeads !== 0) throw field(3, `${nHeads} does not divide dim ${dim}`);
  if ((dim / nHeads) % 2 !== 0) throw field(3, `gives head size ${dim / nHeads}; RoPE needs an even head size`);
  if (nKvHeads > nHeads || nHeads % nKvHeads !== 0) throw field(4, `${nKvHeads} must divide n_heads ${nHeads}`);
  return { dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize: Math.abs(vocab), seqLen, sharedClassifier: vocab > 0 };
}

function openBin(file: string): number {
  try {
    return openSync(file, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new MissingFileError(file, 'llama2.c checkpoint does not exist');
    throw new FormatError(file, `cannot read the llama2.c checkpoint (${code ?? (e as Error).message})`);
  }
}

/**
 * Permutes the rows of a q or k weight (rows = nHeads * hs, cols) from llama2.c's interleaved RoPE pairs
 * (2i, 2i+1) to HF rotate-half pairs (i, i + hs/2): HF convert_llama_weights' permute,
 * w.view(nHeads, hs/2, 2, cols).transpose(1, 2).reshape(rows, cols). New row h*hs + j*hs/2 + i is old h*hs + 2i + j.
 */
export function permuteRopeRows(w: Float32Array, nHeads: number, rows: number, cols: number): Float32Array {
  const hs = rows / nHeads;
  const half = hs / 2;
  const out = new Float32Array(w.length);
  for (let h = 0; h < nHeads; h++) {
    for (let j = 0; j < 2; j++) {
      for (let i = 0; i < half; i++) {
        const src = (h * hs + 2 * i + j) * cols;
        out.set(w.subarray(src, src + cols), (h * hs + j * half + i) * cols);
      }
    }
  }
  return out;
}

/** Reads only the header (and checks the file size against it). */
export function readLlama2cHeader(file: string): Llama2cHeader {
  const fd = openBin(file);
  try {
    return readHeaderFd(file, fd);
  } finally {
    closeSync(fd);
  }
}

function readHeaderFd(file: string, fd: number): Llama2cHeader {
  const size = fstatSync(fd).size;
  const head = new Uint8Array(HEADER_BYTES);
  readFullySync(fd, head, 0);
  const h = parseHeader(file, head, size);
  const expected = HEADER_BYTES + 4 * llama2cWeightCount(h);
  if (size !== expected) {
    const desc = `dim ${h.dim}, hidden_dim ${h.hiddenDim}, ${h.nLayers} layers, ${h.nHeads} heads, ${h.nKvHeads} kv heads, vocab ${h.vocabSize}, seq_len ${h.seqLen}, ${h.sharedClassifier ? 'shared' : 'unshared'} classifier`;
    throw new FormatError(file, `has ${size} bytes but its header (${desc}) needs exactly ${expected}; ${size < expected ? 'the file is truncated' : `there are ${size - expected} unexpected trailing bytes`}`);
  }
  return h;
}

/**
 * Reads a legacy llama2.c checkpoint as HF Llama tensors. ropeLayout 'half' (default) permutes q_proj/k_proj rows
 * for HF's rotate-half RoPE; 'interleaved' keeps llama2.c's rows (for a LlamaModel with ropeLayout 'interleaved').
 */
export function readLlama2cCheckpoint(file: string, opts: { ropeLayout?: 'half' | 'interleaved' } = {}): Llama2cCheckpoint {
  const permute = (opts.ropeLayout ?? 'half') === 'half';
  const fd = openBin(file);
  try {
    const h = readHeaderFd(file, fd);
    const { dim: C, hiddenDim: H, nLayers: L, nHeads: nh, nKvHeads: nkv, vocabSize: V } = h;
    const hs = C / nh;
    const kvDim = nkv * hs;
    let pos = HEADER_BYTES;
    const read = (n: number): Float32Array => {
      const out = new Float32Array(n);
      readFullySync(fd, new Uint8Array(out.buffer), pos);
      if (!LITTLE_ENDIAN_HOST) for (let i = 0; i < out.byteLength; i += 4) new Uint8Array(out.buffer, i, 4).reverse();
      pos += 4 * n;
      return out;
    };
    const tensors: TensorToWrite[] = [];
    /** One (L, ...shape) block of the file, split into model.layers.{l}.{name}. */
    const perLayer = (name: string, shape: number[], map?: (w: Float32Array) => Float32Array) => {
      const n = shape.reduce((a, b) => a * b, 1);
      const all = read(L * n);
      for (let l = 0; l < L; l++) {
        const w = all.subarray(l * n, (l + 1) * n);
        tensors.push({ name: `model.layers.${l}.${name}`, shape, data: map ? map(w) : w });
      }
    };
    tensors.push({ name: 'model.embed_tokens.weight', shape: [V, C], data: read(V * C) });
    perLayer('input_layernorm.weight', [C]);
    perLayer('self_attn.q_proj.weight', [C, C], permute ? (w) => permuteRopeRows(w, nh, C, C) : undefined);
    perLayer('self_attn.k_proj.weight', [kvDim, C], permute ? (w) => permuteRopeRows(w, nkv, kvDim, C) : undefined);
    perLayer('self_attn.v_proj.weight', [kvDim, C]);
    perLayer('self_attn.o_proj.weight', [C, C]);
    perLayer('post_attention_layernorm.weight', [C]);
    perLayer('mlp.gate_proj.weight', [H, C]); // w1
    perLayer('mlp.down_proj.weight', [C, H]); // w2
    perLayer('mlp.up_proj.weight', [H, C]);   // w3
    tensors.push({ name: 'model.norm.weight', shape: [C], data: read(C) });
    pos += 4 * h.seqLen * hs; // freq_cis_real and freq_cis_imag, (seq_len, hs/2) each: recomputed from rope_theta
    if (!h.sharedClassifier) tensors.push({ name: 'lm_head.weight', shape: [V, C], data: read(V * C) });
    return { file, header: h, tensors };
  } finally {
    closeSync(fd);
  }
}

/** The HF config.json of a llama2.c model (run.c's constants: RMSNorm eps 1e-5, RoPE theta 10000, BOS 1, EOS 2). */
export function llama2cHfConfig(h: Llama2cHeader): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: h.vocabSize, hidden_size: h.dim,
    intermediate_size: h.hiddenDim, num_hidden_layers: h.nLayers, num_attention_heads: h.nHeads,
    num_key_value_heads: h.nKvHeads, head_dim: h.dim / h.nHeads, hidden_act: 'silu', rms_norm_eps: 1e-5,
    rope_theta: 10000, max_position_embeddings: h.seqLen, tie_word_embeddings: h.sharedClassifier,
    attention_bias: false, mlp_bias: false, bos_token_id: 1, eos_token_id: 2, torch_dtype: 'float32',
  };
}

/**
 * run.c stops generating when the model emits BOS (it delimits stories in the training data), so the
 * generation config lists BOS beside EOS as a stop token.
 */
export const LLAMA2C_GENERATION_CONFIG = { bos_token_id: 1, eos_token_id: [2, 1] } as const;

/** Converts a legacy llama2.c checkpoint into an HF Llama folder (config.json, generation_config.json, model.safetensors). */
export function convertLlama2cCheckpoint(file: string, outDir: string): { header: Llama2cHeader; files: string[] } {
  const ckpt = readLlama2cCheckpoint(file, { ropeLayout: 'half' });
  const files = writeHfFolder(outDir, {
    config: llama2cHfConfig(ckpt.header), generationConfig: LLAMA2C_GENERATION_CONFIG, tensors: ckpt.tensors,
    metadata: { source: 'llama2.c' },
  });
  return { header: ckpt.header, files };
}
