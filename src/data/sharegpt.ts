// ShareGPT-style chat data ({conversations: [{from, value}]}, as in FastChat, axolotl and LLaMA-Factory), mapped
// onto chat messages and trained through the chat path (the model's chat template, assistant turns learned).
import type { ChatMessage } from './chat-template.js';
import type { ChatRecord } from './chat.js';
import { DataError } from './data-error.js';
import { describeValue, readRecords, recordObject, type ColumnMap } from './prompt.js';

/** ShareGPT speaker names and the chat roles they become (FastChat's and LLaMA-Factory's names). */
const SHAREGPT_ROLES: ReadonlyMap<string, string> = new Map([
  ['human', 'user'], ['user', 'user'],
  ['gpt', 'assistant'], ['assistant', 'assistant'], ['chatgpt', 'assistant'], ['bard', 'assistant'], ['bing', 'assistant'],
  ['model', 'assistant'], ['function_call', 'assistant'],
  ['system', 'system'],
  ['observation', 'tool'], ['tool', 'tool'],
]);

/**
 * Reads and checks every record: a non-empty `conversations` list of {from: a known speaker, value: string}; an
 * optional top-level `system` string (LLaMA-Factory's system column) becomes the first message.
 */
export function readShareGpt(path: string, columns?: ColumnMap): ChatRecord[] {
  const known = [...SHAREGPT_ROLES.keys()].join(', ');
  return readRecords(path, columns).map((rec) => {
    const obj = recordObject(rec);
    const raw = obj['conversations'];
    if (raw === undefined) throw new DataError(`${rec.where}: missing 'conversations' (expected a list of {from, value})`);
    if (!Array.isArray(raw) || raw.length === 0) throw new DataError(`${rec.where}: 'conversations' must be a non-empty list of {from, value}, got ${describeValue(raw)}`);
    const messages: ChatMessage[] = [];
    const system = obj['system'];
    if (typeof system === 'string' && system !== '') messages.push({ role: 'system', content: system });
    else if (system !== undefined && system !== null && system !== '') throw new DataError(`${rec.where}: 'system' must be a string, got ${describeValue(system)}`);
    raw.forEach((turn: unknown, i) => {
      if (turn === null || typeof turn !== 'object' || Array.isArray(turn)) throw new DataError(`${rec.where}: 'conversations[${i}]' must be an object {from, value}, got ${describeValue(turn)}`);
      const { from, value } = turn as { from?: unknown; value?: unknown };
      if (from === undefined) throw new DataError(`${rec.where}: missing 'conversations[${i}].from' (expected a role such as human or gpt)`);
      if (typeof from !== 'string') throw new DataError(`${rec.where}: 'conversations[${i}].from' must be a string, got ${describeValue(from)}`);
      const role = SHAREGPT_ROLES.get(from.toLowerCase());
      if (role === undefined) throw new DataError(`${rec.where}: 'conversations[${i}].from' is '${from}', an unknown role; expected one of ${known}`);
      if (value === undefined) throw new DataError(`${rec.where}: missing 'conversations[${i}].value' (expected a string)`);
      if (typeof value !== 'string') throw new DataError(`${rec.where}: 'conversations[${i}].value' must be a string, got ${describeValue(value)}`);
      messages.push({ role, content: value });
    });
    return { messages, where: rec.where };
  });
}
