// Our data files as records another trainer can read: the detected format, and each record as a prompt/response
// pair, a conversation, a text or token ids (with our masking), for the axolotl and LMFlow writers.
import { detectFormat, type DataFormat } from '../data/load.js';
import { alpacaPrompt, readAlpaca } from '../data/alpaca.js';
import { readChat } from '../data/chat.js';
import { readShareGpt } from '../data/sharegpt.js';
import { readCompletions } from '../data/completion.js';
import { gsm8kPrompt, gsm8kTarget, pubmedqaPrompt, pubmedqaTarget, readGsm8k, readPubmedqa } from '../data/tasks.js';
import { readTextDocuments } from '../data/text.js';
import { readPretokenized } from '../data/pretokenized.js';
import type { ChatMessage } from '../data/chat-template.js';
import type { Example } from '../data/example.js';

export type SourceFormat = Exclude<DataFormat, 'auto'>;

/** A file's records in the one shape its format has. */
export type SourceRecords =
  | { kind: 'pairs'; pairs: { prompt: string; response: string }[] }
  | { kind: 'chat'; conversations: { messages: ChatMessage[]; where: string }[] }
  | { kind: 'text'; texts: string[] }
  | { kind: 'tokens'; examples: Example[] };

export function sourceFormat(path: string, format: DataFormat): SourceFormat {
  return format === 'auto' ? detectFormat(path) : format;
}

/** Reads a data file with our readers (so a bad file fails here, with our message) into records. */
export function readSource(path: string, format: SourceFormat): SourceRecords {
  switch (format) {
    case 'alpaca': return { kind: 'pairs', pairs: readAlpaca(path).map((r) => ({ prompt: alpacaPrompt(r.instruction, r.input), response: r.output })) };
    case 'gsm8k': return { kind: 'pairs', pairs: readGsm8k(path).map((r) => ({ prompt: gsm8kPrompt(r.question), response: gsm8kTarget(r.answer) })) };
    case 'pubmedqa': return { kind: 'pairs', pairs: readPubmedqa(path).map((e) => ({ prompt: pubmedqaPrompt(e), response: pubmedqaTarget(e.decision) })) };
    case 'chat': return { kind: 'chat', conversations: readChat(path) };
    case 'sharegpt': return { kind: 'chat', conversations: readShareGpt(path) };
    case 'prompt-completion': {
      const rs = readCompletions(path);
      if (rs.every((r) => r.kind === 'text')) return { kind: 'pairs', pairs: rs.map((r) => ({ prompt: String(r.prompt), response: String(r.completion) })) };
      return { kind: 'chat', conversations: rs.map((r) => ({ where: r.where, messages: r.kind === 'chat' ? [...r.prompt, ...r.completion]
        : [{ role: 'user', content: r.prompt }, { role: 'assistant', content: r.completion }] })) };
    }
    case 'text': return { kind: 'text', texts: readTextDocuments(path).map((d) => d.text) };
    case 'pretokenized': return { kind: 'tokens', examples: readPretokenized(path) };
  }
}

/** Records as JSONL text (one JSON object per line). */
export function jsonl(rows: readonly unknown[]): string {
  return rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '');
}
