// `lisa generate --chat`: a conversation rendered through the model's chat template (or the ChatML fallback) with
// the generation prompt; interactive turns on a terminal, one user message per line from a pipe, or one --prompt.
import { createInterface } from 'node:readline';
import type { CausalLM } from '../models/index.js';
import { generate } from '../models/generate.js';
import type { Tokenizer } from '../data/tokenizer.js';
import type { ChatMessage } from '../data/chat-template.js';
import { encodeText, specialPrefix } from '../data/prompt.js';
import { ArgumentError } from '../util/errors.js';
import { Rng } from '../util/rng.js';

export interface ChatOptions {
  system?: string;
  prompt?: string;
  maxNewTokens: number; temperature: number; topK: number; topP: number; seed: number;
  /** Ids that end a reply (the model's and the tokenizer's EOS). */
  eosIds: number[];
}

/** The ids of a conversation ready for the assistant's reply: BOS (unless the template wrote it), then the text. */
export function chatPromptIds(tok: Tokenizer, messages: readonly ChatMessage[]): number[] {
  const text = tok.applyChatTemplate(messages, { addGenerationPrompt: true });
  const prefix = tok.bosToken && text.startsWith(tok.bosToken) ? [] : specialPrefix(tok);
  return [...prefix, ...encodeText(tok, text)];
}

/** End-of-turn markers of common templates, stopped at as tokens (when in the vocabulary) or as text. */
const TURN_ENDS = ['<|im_end|>', '<|eot_id|>', '<|end|>', '<end_of_turn>'];

class Conversation {
  readonly messages: ChatMessage[] = [];
  private readonly rng: Rng;
  private readonly stopIds: number[];

  constructor(private readonly model: CausalLM, private readonly tok: Tokenizer, private readonly o: ChatOptions) {
    if (o.system !== undefined) this.messages.push({ role: 'system', content: o.system });
    this.rng = new Rng(o.seed);
    this.stopIds = [...new Set([...o.eosIds, ...TURN_ENDS.flatMap((t) => tok.tokenToId(t) ?? [])])];
  }

  /** The prompt for the next reply; the oldest turns (after the system prompt) go when it would not fit the context. */
  private promptIds(): number[] {
    const room = this.model.maxPositions - Math.min(this.o.maxNewTokens, Math.floor(this.model.maxPositions / 2));
    for (;;) {
      const ids = chatPromptIds(this.tok, this.messages);
      const first = this.messages[0]?.role === 'system' ? 1 : 0;
      if (ids.length <= room || this.messages.length - first <= 1) {
        if (ids.length > this.model.maxPositions) {
          throw new ArgumentError(`generate --chat: the conversation needs ${ids.length} tokens, more than the model's context of ${this.model.maxPositions}`);
        }
        return ids;
      }
      this.messages.splice(first, this.messages[first + 1]?.role === 'assistant' ? 2 : 1);
    }
  }

  /** Adds the user's message, streams the reply through `write` and returns it. */
  turn(user: string, write: (s: string) => void): string {
    this.messages.push({ role: 'user', content: user });
    const prompt = this.promptIds();
    const stream = this.tok.streamDecoder({ skipSpecialTokens: true });
    const stopSet = new Set(this.stopIds);
    let text = '';
    let shown = 0;
    const hold = Math.max(...TURN_ENDS.map((t) => t.length));
    generate(this.model, prompt, {
      maxNewTokens: this.o.maxNewTokens, temperature: this.o.temperature, topK: this.o.topK, topP: this.o.topP,
      rng: this.rng, eosIds: this.stopIds,
      onToken: (id) => {
        if (stopSet.has(id)) return false;
        text += stream.push(id);
        const end = TURN_ENDS.map((t) => text.indexOf(t)).filter((i) => i >= 0).sort((a, b) => a - b)[0];
        if (end !== undefined) {
          text = text.slice(0, end);
          return false;
        }
        // Hold back what could be the start of an end-of-turn marker written as text.
        const safe = Math.max(shown, text.length - hold);
        write(text.slice(shown, safe));
        shown = safe;
        return true;
      },
    });
    if (!TURN_ENDS.some((t) => text.includes(t))) text += stream.flush();
    write(`${text.slice(shown)}\n`);
    const reply = text.trim();
    this.messages.push({ role: 'assistant', content: reply });
    return reply;
  }
}

/** Runs the chat: one turn for --prompt, else turns read from stdin (interactive on a terminal). */
export async function runChat(model: CausalLM, tok: Tokenizer, o: ChatOptions): Promise<void> {
  const chat = new Conversation(model, tok, o);
  const write = (s: string) => void process.stdout.write(s);
  if (o.prompt !== undefined) {
    chat.turn(o.prompt, write);
    return;
  }
  const tty = process.stdin.isTTY === true;
  const rl = createInterface({ input: process.stdin, output: tty ? process.stdout : undefined, terminal: tty });
  if (tty) {
    write(`chat with ${tok.source} (${tok.chatTemplateText === null ? 'built-in ChatML template' : 'its chat template'}); an empty line or Ctrl-D ends\n`);
    rl.setPrompt('> ');
    rl.prompt();
  }
  for await (const line of rl) {
    if (line.trim() === '') {
      if (tty) break;
      continue;
    }
    chat.turn(line, write);
    if (tty) rl.prompt();
  }
  rl.close();
}
