// Our data files as records another trainer can read: the detected format, and each record as a prompt/response
// pair, a conversation, a text or token ids (with our masking), for the axolotl and LMFlow writers.
import { detectFormat, type DataFormat } from '../data/load.js';
import { alpacaMessages, alpacaPrompt, readAlpaca } from '../data/alpaca.js';
import { readChat } from '../data/chat.js';
import { readShareGpt } from '../data/sharegpt.js';
import { readCompletions } from '../data/completion.js';
import { gsm8kPrompt, gsm8kTarget, pubmedqaPrompt, pubmedqaTarget, readGsm8k, readPubmedqa } from '../data/tasks.js';
import { isPlainTextFile, readTextDocuments } from '../data/text.js';
import { isParquetFile } from '../data/parquet.js';
import { readPretokenized } from '../data/pretokenized.js';
import type { ChatMessage } from '../data/chat-template.js';
import type { Example } from '../data/example.js';
import type { ColumnMap } from '../data/prompt.js';

export type SourceFormat = Exclude<DataFormat, 'auto'>;

/** A file's records in the one shape its format has. */
export type SourceRecords =
  | { kind: 'pairs'; pairs: { prompt: string; response: string }[] }
  | { kind: 'chat'; conversations: { messages: ChatMessage[]; where: string }[]; note?: string }
  | { kind: 'text'; texts: string[] }
  | { kind: 'tokens'; examples: Example[] };

export function sourceFormat(path: string, format: DataFormat, columns?: ColumnMap): SourceFormat {
  return format === 'auto' ? detectFormat(path, columns) : format;
}

/** True when the other tool reads the file itself as we do: JSON or JSONL with our column names. */
export function readableAsIs(path: string, columns?: ColumnMap): boolean {
  return !isParquetFile(path) && !isPlainTextFile(path) && Object.keys(columns ?? {}).length === 0;
}

/**
 * Reads a data file with our readers (so a bad file fails here, with our message) into records, with data.columns
 * applied. Alpaca records with `history` train as conversations here (see alpacaExample), so a file with any
 * becomes conversations, every record, and says so in `note`.
 */
export function readSource(path: string, format: SourceFormat, columns?: ColumnMap): SourceRecords {
  switch (format) {
    case 'alpaca': {
      const rs = readAlpaca(path, columns);
      if (rs.some((r) => r.history.length > 0)) {
        return {
          kind: 'chat', conversations: rs.map((r) => ({ messages: alpacaMessages(r), where: r.where })),
          note: `${path}: Alpaca records with 'history' were written as conversations (earlier turns, then instruction + input), ` +
            'rendered with the chat template as we train them; the records without history go the same way there, not through the Alpaca prompt',
        };
      }
      return { kind: 'pairs', pairs: rs.map((r) => ({ prompt: alpacaPrompt(r.instruction, r.input), response: r.output })) };
    }
    case 'gsm8k': return { kind: 'pairs', pairs: readGsm8k(path, columns).map((r) => ({ prompt: gsm8kPrompt(r.question), response: gsm8kTarget(r.answer) })) };
    case 'pubmedqa': return { kind: 'pairs', pairs: readPubmedqa(path).map((e) => ({ prompt: pubmedqaPrompt(e), response: pubmedqaTarget(e.decision) })) };
    case 'chat': return { kind: 'chat', conversations: readChat(path, columns) };
    case 'sharegpt': return { kind: 'chat', conversations: readShareGpt(path, columns) };
    case 'prompt-completion': {
      const rs = readCompletions(path, columns);
      if (rs.every((r) => r.kind === 'text')) return { kind: 'pairs', pairs: rs.map((r) => ({ prompt: String(r.prompt), response: String(r.completion) })) };
      return { kind: 'chat', conversations: rs.map((r) => ({ where: r.where, messages: r.kind === 'chat' ? [...r.prompt, ...r.completion]
        : [{ role: 'user', content: r.prompt }, { role: 'assistant', content: r.completion }] })) };
    }
    case 'text': return { kind: 'text', texts: readTextDocuments(path, columns).map((d) => d.text) };
    case 'pretokenized': return { kind: 'tokens', examples: readPretokenized(path) };
  }
}

/** Records as JSONL text (one JSON object per line). */
export function jsonl(rows: readonly unknown[]): string {
  return rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '');
}
