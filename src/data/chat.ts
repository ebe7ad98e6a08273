// Chat data (JSONL or JSON array of {messages: [{role, content}]}) rendered with the model's chat template, with
// every token outside the assistant turns masked from the loss.
import type { Tokenizer } from './tokenizer.js';
import { IGNORE_INDEX, type Example } from './example.js';
import { ChatTemplateError, type ChatMessage } from './chat-template.js';
import { DataError } from './data-error.js';
import { commonPrefixLength, describeValue, encodeText, readRecords, recordObject, specialPrefix, type ColumnMap } from './prompt.js';

export interface ChatRecord {
  messages: ChatMessage[];
  /** "file:line" or "file[index]", for messages. */
  where: string;
}

/** Reads and checks every record: a non-empty `messages` list of {role: non-empty string, content: string}. */
export function readChat(path: string, columns?: ColumnMap): ChatRecord[] {
  return readRecords(path, columns).map((rec) => {
    const raw = recordObject(rec)['messages'];
    if (raw === undefined) throw new DataError(`${rec.where}: missing 'messages' (expected a list of {role, content})`);
    if (!Array.isArray(raw) || raw.length === 0) throw new DataError(`${rec.where}: 'messages' must be a non-empty list of {role, content}, got ${describeValue(raw)}`);
    const messages = raw.map((m: unknown, i): ChatMessage => {
      if (m === null || typeof m !== 'object' || Array.isArray(m)) throw new DataError(`${rec.where}: 'messages[${i}]' must be an object {role, content}, got ${describeValue(m)}`);
      const { role, content } = m as { role?: unknown; content?: unknown };
      if (typeof role !== 'string' || role === '') throw new DataError(`${rec.where}: 'messages[${i}].role' must be a non-empty string, got ${describeValue(role)}`);
      if (typeof content !== 'string') throw new DataError(`${rec.where}: 'messages[${i}].content' must be a string, got ${describeValue(content)}`);
      return { role, content };
    });
    return { messages, where: rec.where };
  });
}

/**
 * One conversation as an example. The text is the chat template's rendering (the model's template, or the
 * built-in ChatML fallback), tokenized as a whole; the special prefix (BOS) is added unless the template already
 * wrote the BOS token. With maskPrompt only the assistant turns are learned: their character spans come from
 * rendering prefixes of the conversation (ChatTemplate.segments: up to before each assistant message with the
 * generation prompt, and up to after it), like HF's return_assistant_tokens_mask; a span's token boundary is
 * where the tokens of the text up to it stop matching the whole text's tokens (a token straddling the boundary
 * goes to the later span). When the conversation ends with an assistant turn and the template did not end it
 * with the EOS token, EOS is appended and learned, so the fine-tuned model stops after its answer.
 * @param where the record's location, for errors
 */
export function chatExample(tok: Tokenizer, messages: readonly ChatMessage[], maskPrompt: boolean, where = 'chat'): Example {
  let segments;
  try {
    segments = tok.chatTemplate().segments(messages, { bosToken: tok.bosToken ?? '', eosToken: tok.eosToken ?? '' });
  } catch (e) {
    if (e instanceof ChatTemplateError) throw new DataError(`${where}: ${e.message}`);
    throw e;
  }
  const text = segments.map((s) => s.text).join('');
  const prefix = tok.bosToken && text.startsWith(tok.bosToken) ? [] : specialPrefix(tok);
  const body = encodeText(tok, text);
  const ids = [...prefix, ...body];
  let labels: number[];
  if (maskPrompt) {
    const boundaries = new Map<number, number>([[0, 0], [text.length, body.length]]);
    const tokenAt = (c: number): number => {
      let b = boundaries.get(c);
      if (b === undefined) boundaries.set(c, (b = commonPrefixLength(body, encodeText(tok, text.slice(0, c)))));
      return b;
    };
    labels = new Array<number>(ids.length).fill(IGNORE_INDEX);
    for (const s of segments) {
      if (!s.train) continue;
      for (let t = tokenAt(s.start), end = tokenAt(s.end); t < end; t++) labels[prefix.length + t] = body[t]!;
    }
  } else {
    labels = [...ids];
  }
  const endsWithEos = tok.eosToken !== null && tok.eosToken !== '' && text.trimEnd().endsWith(tok.eosToken);
  if (messages[messages.length - 1]?.role === 'assistant' && tok.eosId !== null && !endsWithEos) {
    ids.push(tok.eosId);
    labels.push(tok.eosId);
  }
  return { ids, labels };
}
