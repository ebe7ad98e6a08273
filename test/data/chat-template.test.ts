// Chat templates: Mistral-Instruct (Jinja, raise_exception) with Mistral's tokenizer files, ChatML, the fallback, segments.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { ChatTemplate, ChatTemplateError, FALLBACK_CHAT_TEMPLATE, pickChatTemplate, renderChat, type ChatMessage } from '../../src/data/chat-template.js';
import { loadTokenizer, Tokenizer, type TokenizerConfigJson, type TokenizerJson } from '../../src/data/tokenizer.js';
import { sharedData } from '../helpers.js';

const DATA = sharedData;
const HAVE_DATA = existsSync(DATA);
if (!HAVE_DATA && process.env.CI !== 'true') {
  console.warn(`[chat-template.test] SKIPPING shared-data tests: ${DATA} is missing (they fail under CI=true)`);
}
if (!HAVE_DATA && process.env.CI === 'true') {
  describe('shared data', () => it('is present under CI', () => expect.fail(`${DATA} is missing; chat template tests need ../shared/data`)));
}
const describeData = HAVE_DATA ? describe : describe.skip;
vi.setConfig({ testTimeout: 60_000 });

/**
 * Mistral-7B-Instruct's chat_template (v0.2 form). The shared Mistral tokenizer_config.json carries no
 * chat_template, so the test supplies this well-known one alongside that config's bos/eos tokens.
 */
const MISTRAL_INSTRUCT =
  "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}" +
  "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}" +
  "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}" +
  "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}" +
  "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}";

/** A hand-written ChatML template with a default system message, as Qwen2 ships it. */
const CHATML =
  "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}" +
  "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}" +
  "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

const TWO_TURNS: ChatMessage[] = [
  { role: 'user', content: 'What is 2+2?' },
  { role: 'assistant', content: 'It is 4.' },
  { role: 'user', content: 'And 3+3?' },
  { role: 'assistant', content: 'It is 6.' },
];

describeData('Mistral tokenizer_config.json with the Mistral-Instruct template', () => {
  const dir = join(DATA, 'tokenizers/mistral');
  const json = HAVE_DATA ? (JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')) as TokenizerJson) : null;
  const config = HAVE_DATA ? (JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')) as TokenizerConfigJson) : null;

  it('the shared config has no chat_template, so the ChatML fallback is used', () => {
    const tok = loadTokenizer(dir);
    expect(tok.chatTemplateText).toBeNull();
    expect(tok.chatTemplate().isFallback).toBe(true);
    expect(tok.applyChatTemplate([{ role: 'user', content: 'Hi' }], { addGenerationPrompt: true })).toBe(
      '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n',
    );
  });

  it('renders a 2-turn conversation as the template reads', () => {
    const tok = new Tokenizer(json!, { ...config!, chat_template: MISTRAL_INSTRUCT }, { source: dir });
    const text = tok.applyChatTemplate(TWO_TURNS);
    expect(text).toBe('<s>[INST] What is 2+2? [/INST]It is 4.</s>[INST] And 3+3? [/INST]It is 6.</s>');
    // The rendered text already holds <s>: encode without special tokens to avoid a second BOS.
    const ids = tok.encode(text, { addSpecialTokens: false });
    expect(ids[0]).toBe(1);
    expect(ids.filter((id) => id === 1).length).toBe(1);
    expect(ids.filter((id) => id === 2).length).toBe(2);
    expect(ids.at(-1)).toBe(2);
    // Legacy SentencePiece form (as HF with legacy=true): each text section after a special token gets its own "▁".
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe('[INST] What is 2+2? [/INST]It is 4. [INST] And 3+3? [/INST]It is 6.');
  });

  it('raise_exception becomes a ChatTemplateError with the template message', () => {
    const tok = new Tokenizer(json!, { ...config!, chat_template: MISTRAL_INSTRUCT }, { source: dir });
    const bad = [{ role: 'assistant', content: 'hello' }];
    expect(() => tok.applyChatTemplate(bad)).toThrow(ChatTemplateError);
    expect(() => tok.applyChatTemplate(bad)).toThrow(/Conversation roles must alternate/);
    expect(() => tok.applyChatTemplate([{ role: 'system', content: 's' }])).toThrow(/roles must alternate/);
  });

  it('splits into segments with only the assistant replies trained', () => {
    const t = new ChatTemplate(MISTRAL_INSTRUCT);
    const segs = t.segments(TWO_TURNS, { bosToken: '<s>', eosToken: '</s>' });
    expect(segs.map((s) => [s.role, s.text, s.train])).toEqual([
      ['user', '<s>[INST] What is 2+2? [/INST]', false],
      ['assistant', 'It is 4.</s>', true],
      ['user', '[INST] And 3+3? [/INST]', false],
      ['assistant', 'It is 6.</s>', true],
    ]);
    expect(segs.map((s) => s.text).join('')).toBe(t.render(TWO_TURNS, { bosToken: '<s>', eosToken: '</s>' }));
  });
});

describe('ChatML and the built-in fallback', () => {
  it('renders a hand-written ChatML template with a generation prompt', () => {
    const msgs: ChatMessage[] = [{ role: 'user', content: 'Hi there' }];
    expect(renderChat(CHATML, msgs, { addGenerationPrompt: true })).toBe(
      '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n',
    );
    const withSystem: ChatMessage[] = [{ role: 'system', content: 'Be brief.' }, ...TWO_TURNS.slice(0, 2)];
    expect(renderChat(CHATML, withSystem)).toBe(
      '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\nIt is 4.<|im_end|>\n',
    );
  });

  it('the fallback is ChatML without a default system message', () => {
    const t = new ChatTemplate(null);
    expect(t.isFallback).toBe(true);
    expect(t.text).toBe(FALLBACK_CHAT_TEMPLATE);
    expect(t.render(TWO_TURNS.slice(0, 2))).toBe('<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\nIt is 4.<|im_end|>\n');
    expect(renderChat(null, [], { addGenerationPrompt: true })).toBe('<|im_start|>assistant\n');
  });

  it('segments put the generation prompt in an untrained span', () => {
    const t = new ChatTemplate(CHATML);
    const segs = t.segments(TWO_TURNS.slice(0, 2));
    expect(segs.map((s) => [s.role, s.text, s.train])).toEqual([
      ['user', '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n', false],
      ['assistant_prompt', '<|im_start|>assistant\n', false],
      ['assistant', 'It is 4.<|im_end|>\n', true],
    ]);
    const full = t.render(TWO_TURNS.slice(0, 2));
    for (const s of segs) expect(full.slice(s.start, s.end)).toBe(s.text);
  });

  it('a template whose prefixes are not prefixes of the whole cannot be segmented', () => {
    const t = new ChatTemplate("{% for m in messages %}{{ m['content'] }}{% endfor %}{{ messages | length }}");
    expect(() => t.segments(TWO_TURNS)).toThrow(/not a prefix/);
  });

  it('picks named templates, and reports parse errors and bad messages with the source', () => {
    expect(pickChatTemplate([{ name: 'tool_use', template: 'T' }, { name: 'default', template: 'D' }])).toBe('D');
    expect(pickChatTemplate([{ name: 'tool_use', template: 'T' }], 'tool_use')).toBe('T');
    expect(pickChatTemplate(undefined)).toBeNull();
    expect(() => new ChatTemplate('{% for %}', 'my/tokenizer_config.json')).toThrow(/my\/tokenizer_config\.json: chat_template: does not parse/);
    expect(() => renderChat(CHATML, [{ role: 'user' } as ChatMessage])).toThrow(/message 0 must be \{role: string, content: string\}/);
  });
});
