// Prompt/completion data (TRL's and OpenAI fine-tuning's {prompt, completion}): the loss is on the completion only.
// Strings are joined as they are (no template); lists of {role, content} (TRL's conversational form) go through the
// chat path, where the completion's assistant turns are the learned ones.
import type { Tokenizer } from './tokenizer.js';
import type { Example } from './example.js';
import type { ChatMessage } from './chat-template.js';
import { chatExample } from './chat.js';
import { DataError } from './data-error.js';
import { describeValue, promptExample, readRecords, recordObject, type ColumnMap } from './prompt.js';

export type CompletionRecord =
  | { kind: 'text'; prompt: string; completion: string; where: string }
  | { kind: 'chat'; prompt: ChatMessage[]; completion: ChatMessage[]; where: string };

function messages(where: string, key: string, v: unknown[]): ChatMessage[] {
  return v.map((m, i) => {
    const { role, content } = (m ?? {}) as { role?: unknown; content?: unknown };
    if (typeof role !== 'string' || role === '' || typeof content !== 'string') {
      throw new DataError(`${where}: '${key}[${i}]' must be {role: string, content: string}, got ${describeValue(m)}`);
    }
    return { role, content };
  });
}

/** Reads and checks every record: prompt and completion both strings, or both lists of {role, content}. */
export function readCompletions(path: string, columns?: ColumnMap): CompletionRecord[] {
  return readRecords(path, columns).map((rec): CompletionRecord => {
    const obj = recordObject(rec);
    const { prompt, completion } = obj;
    if (typeof prompt === 'string' && typeof completion === 'string') return { kind: 'text', prompt, completion, where: rec.where };
    if (Array.isArray(prompt) && Array.isArray(completion) && completion.length > 0) {
      return { kind: 'chat', prompt: messages(rec.where, 'prompt', prompt), completion: messages(rec.where, 'completion', completion), where: rec.where };
    }
    for (const key of ['prompt', 'completion'] as const) {
      if (obj[key] === undefined) throw new DataError(`${rec.where}: missing '${key}' (expected a string, or a list of {role, content})`);
    }
    throw new DataError(`${rec.where}: 'prompt' and 'completion' must both be strings or both be lists of {role, content}; got ${describeValue(prompt)} and ${describeValue(completion)}`);
  });
}

/**
 * One record as an example. Text: [special prefix] + prompt + completion + EOS, as the Alpaca reader does without
 * its template; with maskPrompt only the completion and EOS are learned. Conversational: the chat template's
 * rendering of prompt + completion with only assistant turns learned (completion turns are the assistant's).
 */
export function completionExample(tok: Tokenizer, r: CompletionRecord, maskPrompt: boolean): Example {
  if (r.kind === 'text') return promptExample(tok, r.prompt, r.completion, maskPrompt);
  const bad = r.completion.find((m) => m.role !== 'assistant');
  if (bad !== undefined) throw new DataError(`${r.where}: a completion turn has role '${bad.role}'; only assistant turns are completions`);
  return chatExample(tok, [...r.prompt, ...r.completion], maskPrompt, r.where);
}
