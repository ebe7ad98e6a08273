// Writes the tokenizer files an export gets for each converted source kind (GPT-2 encoder.json + vocab.bpe,
// SentencePiece tokenizer.model, llama2.c .bin) into OUT/<kind>/, for scripts/gen_tokenizer_export_fixture.py.
// Usage: npx tsx scripts/export-tokenizers.ts OUT [SHARED_DATA]
import { join } from 'node:path';
import { exportTokenizer } from '../src/data/tokenizer-export.js';

const [out, data = join(import.meta.dirname, '..', '..', 'shared', 'data')] = process.argv.slice(2);
if (!out) throw new Error('usage: export-tokenizers.ts OUT [SHARED_DATA]');
const SOURCES: Record<string, string> = {
  gpt2: 'tokenizers/gpt2', sentencepiece: 'tokenizers/llama2/tokenizer.model', llama2c: 'models/stories260K/tok512.bin',
};
for (const [kind, src] of Object.entries(SOURCES)) exportTokenizer(join(out, kind), join(data, src));
