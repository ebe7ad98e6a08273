// `lisa convert llama2c`: stories260K to an HF folder that loads and has the tokenizer files; bad inputs exit 1
// with a message naming the file.
import { describe, expect, it } from 'vitest';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from '../../src/models/index.js';
import { loadTokenizer } from '../../src/data/tokenizer.js';
import { haveSharedData, sharedData } from '../helpers.js';
import { runCli, tempDirs } from '../cli-helpers.js';

/** Runs the CLI and captures stdout and stderr. */
const run = runCli;

const tmp = tempDirs('lisa-cli-convert');
const STORIES = join(sharedData, 'models/stories260K');

/** A minimal llama2.c tokenizer file: <unk>, BOS, EOS and the 256 byte tokens. */
function writeTinyTokenizer(path: string): void {
  const pieces = ['<unk>', '\n<s>\n', '\n</s>\n', ...Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`)];
  const parts = [Buffer.alloc(4)];
  parts[0].writeInt32LE(7, 0);
  for (const p of pieces) {
    const head = Buffer.alloc(8);
    head.writeFloatLE(0, 0);
    head.writeInt32LE(Buffer.byteLength(p), 4);
    parts.push(head, Buffer.from(p));
  }
  writeFileSync(path, Buffer.concat(parts));
}

describe.skipIf(!haveSharedData())('lisa convert llama2c (stories260K)', () => {
  it('writes a loadable HF Llama folder with tokenizer files', async () => {
    const out = join(tmp(), 'stories260K-hf');
    const r = await run(['convert', 'llama2c', '--checkpoint', join(STORIES, 'stories260K.bin'), '--tokenizer', join(STORIES, 'tok512.bin'), '--out', out]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^converted .*stories260K\.bin \(5 layers, dim 64, 8\/4 heads, vocab 512, context 512\) to /);
    expect(readdirSync(out).sort()).toEqual(['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    const { model, generationConfig } = loadModel(out);
    expect(model.config).toMatchObject({ family: 'llama', ropeLayout: 'half', tieWordEmbeddings: true, numKvHeads: 4 });
    expect(model.numParameters()).toBe(260032); // the file's floats less the RoPE tables (tied classifier)
    expect(generationConfig).toEqual({ bos_token_id: 1, eos_token_id: [2, 1] });
    expect(loadTokenizer(out).decode(loadTokenizer(out).encode('Once upon a time'), { skipSpecialTokens: true })).toBe('Once upon a time');
    model.dispose();
  });
});

describe('lisa convert llama2c: bad inputs', () => {
  it('a truncated checkpoint exits 1 naming the file', async () => {
    const dir = tmp();
    const bin = join(dir, 'bad.bin');
    const buf = Buffer.alloc(28 + 40);
    [16, 24, 2, 4, 2, 40, 24].forEach((v, i) => buf.writeInt32LE(v, 4 * i));
    writeFileSync(bin, buf);
    const tok = join(dir, 'tok.bin');
    writeTinyTokenizer(tok);
    const r = await run(['convert', 'llama2c', '--checkpoint', bin, '--tokenizer', tok, '--out', join(dir, 'out')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^lisa: FormatError: .*bad\.bin: has 68 bytes but its header \(dim 16, .*\) needs exactly \d+; the file is truncated\n$/);
  });

  it('a bad tokenizer exits 1 before anything is written', async () => {
    const dir = tmp();
    const tok = join(dir, 'tok.bin');
    writeFileSync(tok, Buffer.from([1, 0]));
    const r = await run(['convert', 'llama2c', '--checkpoint', join(dir, 'none.bin'), '--tokenizer', tok, '--out', join(dir, 'out')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/tok\.bin/);
    expect(readdirSync(dir)).toEqual(['tok.bin']);
  });

  it('a missing option is a usage error', async () => {
    const r = await run(['convert', 'llama2c', '--checkpoint', 'x.bin']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/required option '--tokenizer <file>' not specified/);
  });
});
