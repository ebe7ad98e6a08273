// Every export carries its tokenizer: runs from init with a GPT-2 (encoder.json + vocab.bpe), SentencePiece
// (tokenizer.model), llama2.c (.bin) or HF (tokenizer.json) tokenizer write tokenizer.json + tokenizer_config.json
// into final/ (and the LoRA adapter folder), which encode and decode a known text exactly as the source does and as
// Hugging Face `tokenizers` does with the same file (test/fixtures/tokenizer-export.json), and `lisa generate` runs
// on the export.
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDirs } from '../cli-helpers.js';
import { loadTokenizer } from '../../src/data/tokenizer.js';
import { haveSharedData, repoRoot, sharedData } from '../helpers.js';

/** Ids from HF tokenizers 0.23 on the tokenizer.json each converted kind exports (scripts/gen_tokenizer_export_fixture.py). */
const HF = JSON.parse(readFileSync(join(repoRoot, 'test/fixtures/tokenizer-export.json'), 'utf8')) as {
  probe: string; kinds: Record<string, { sha256: string; ids: number[]; idsNoSpecial: number[]; decoded: string }>;
};

const tmp = tempDirs('lisa-export-tok');
const TEXT = 'Once upon a time, there was a little girl named Lily. She liked to play in the park with her dog.\n';
const PROBE = 'Lily saw a big red ball! "Can I play?" she asked, 3 times.';

const llama = (vocab: number) => ({ architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: vocab, hidden_size: 8,
  intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 2, max_position_embeddings: 32,
  rms_norm_eps: 1e-5, tie_word_embeddings: true });
const SOURCES = [
  { kind: 'GPT-2 encoder.json + vocab.bpe', tokenizer: 'tokenizers/gpt2', init: { model_type: 'gpt2', vocab_size: 50257, n_positions: 32, n_embd: 8, n_layer: 1, n_head: 2 }, hf: 'gpt2' },
  { kind: 'SentencePiece tokenizer.model', tokenizer: 'tokenizers/llama2/tokenizer.model', init: llama(32000), hf: 'sentencepiece' },
  { kind: 'llama2.c tokenizer .bin', tokenizer: 'models/stories260K/tok512.bin', init: llama(512), hf: 'llama2c' },
  { kind: 'HF tokenizer.json', tokenizer: 'tokenizers/mistral', init: llama(32000), hf: null },
];

const CHAT = { messages: [{ role: 'user', content: 'Who is Lily?' }, { role: 'assistant', content: 'A little girl.' }] };

async function train(tokenizer: string, init: object, method: object = { kind: 'full' }, chat = false): Promise<string> {
  const root = tmp();
  const data = join(root, chat ? 'chat.jsonl' : 'story.txt');
  writeFileSync(data, chat ? `${JSON.stringify(CHAT)}\n`.repeat(8) : TEXT.repeat(8));
  const out = join(root, 'out');
  const cfg = { model: { init, tokenizer }, data: { path: data, evalSplit: 0 }, method, train: { steps: 2, batchSize: 2 }, out };
  writeFileSync(join(root, 'config.json'), JSON.stringify(cfg));
  const r = await runCli(['train', join(root, 'config.json')]);
  expect(r.code, r.err).toBe(0);
  return out;
}

describe.runIf(haveSharedData())('the export carries its tokenizer', () => {
  for (const s of SOURCES) {
    it(`${s.kind}: final/ has tokenizer.json + tokenizer_config.json that match the source, and generates`, async () => {
      const source = join(sharedData, s.tokenizer);
      const final = join(await train(source, s.init), 'final');
      expect(existsSync(join(final, 'tokenizer.json'))).toBe(true);
      expect(existsSync(join(final, 'tokenizer_config.json'))).toBe(true);
      // The export is read as an HF tokenizer.json (no conversion), and agrees with the source on a known text.
      const json = JSON.parse(readFileSync(join(final, 'tokenizer.json'), 'utf8')) as { model: { type: string } };
      expect(json.model.type).toBe('BPE');
      const cfg = JSON.parse(readFileSync(join(final, 'tokenizer_config.json'), 'utf8')) as { tokenizer_class?: string };
      if (s.hf !== null) {
        expect(['GPT2Tokenizer', 'LlamaTokenizer']).toContain(cfg.tokenizer_class);
        // The very file HF tokenizers loaded when the fixture was made, and the ids it gave.
        const hf = HF.kinds[s.hf]!;
        expect(createHash('sha256').update(readFileSync(join(final, 'tokenizer.json'))).digest('hex')).toBe(hf.sha256);
        const tok = loadTokenizer(final);
        expect(tok.encode(HF.probe)).toEqual(hf.ids);
        expect(tok.encode(HF.probe, { addSpecialTokens: false })).toEqual(hf.idsNoSpecial);
        expect(tok.decode(hf.ids, { skipSpecialTokens: true })).toBe(hf.decoded);
        expect(hf.decoded).toBe(HF.probe);
      }
      const src = loadTokenizer(source);
      const exported = loadTokenizer(final);
      expect(exported.source).toBe(join(final, 'tokenizer.json'));
      const ids = src.encode(PROBE);
      expect(exported.encode(PROBE)).toEqual(ids);
      expect(exported.decode(ids, { skipSpecialTokens: true })).toBe(PROBE);
      expect([exported.bosId, exported.eosId, exported.vocabSize]).toEqual([src.bosId, src.eosId, src.vocabSize]);
      const g = await runCli(['generate', '--model', final, '--prompt', 'Once upon a time', '--max-new-tokens', '4', '--temperature', '0']);
      expect(g.code, g.err).toBe(0);
      expect(g.out.startsWith('Once upon a time')).toBe(true);
    }, 120_000);
  }

  it('a LoRA run writes the converted tokenizer into the adapter folder, as PEFT does', async () => {
    const source = join(sharedData, 'models/stories260K/tok512.bin');
    const adapter = join(await train(source, llama(512), { kind: 'lora', rank: 2 }), 'adapter');
    expect(existsSync(join(adapter, 'adapter_config.json'))).toBe(true);
    const exported = loadTokenizer(adapter);
    expect(exported.source).toBe(join(adapter, 'tokenizer.json'));
    expect(exported.encode(PROBE)).toEqual(loadTokenizer(source).encode(PROBE));
  }, 120_000);

  it('a chat run on a model without a chat template exports the ChatML template it trained with', async () => {
    const source = join(sharedData, 'models/stories260K/tok512.bin');
    expect(loadTokenizer(source).chatTemplateText).toBeNull();
    const final = join(await train(source, { ...llama(512), max_position_embeddings: 256 }, { kind: 'full' }, true), 'final');
    const cfg = JSON.parse(readFileSync(join(final, 'tokenizer_config.json'), 'utf8')) as { chat_template?: string; tokenizer_class?: string };
    expect(cfg.tokenizer_class).toBe('LlamaTokenizer'); // the converted config's keys are kept
    const exported = loadTokenizer(final);
    expect(exported.chatTemplateText).toBe(cfg.chat_template);
    // The layout the data was rendered with, written out by hand.
    expect(exported.applyChatTemplate(CHAT.messages, { addGenerationPrompt: true }))
      .toBe('<|im_start|>user\nWho is Lily?<|im_end|>\n<|im_start|>assistant\nA little girl.<|im_end|>\n<|im_start|>assistant\n');
    // A plain-text run renders no chat, so its export gains no template.
    const plain = join(await train(source, llama(512)), 'final');
    expect(loadTokenizer(plain).chatTemplateText).toBeNull();
  }, 120_000);
});
