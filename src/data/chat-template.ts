// Chat templates: render {role, content} messages with a model's Jinja chat_template, or the built-in ChatML fallback.

import { Template } from '@huggingface/jinja';
import { LisaError } from '../util/errors.js';

/** One chat turn. Roles are free-form strings; templates usually know system, user and assistant. */
export interface ChatMessage {
  role: string;
  content: string;
}

/** Variables passed to the template besides `messages`. */
export interface ChatRenderOptions {
  /** Append the prompt that starts an assistant turn (default false). */
  addGenerationPrompt?: boolean;
  bosToken?: string;
  eosToken?: string;
  /** More template variables (e.g. tools, date_string); they override nothing above. */
  extra?: Record<string, unknown>;
}

/** A template that does not parse, raised `raise_exception`, or cannot be rendered for these messages. */
export class ChatTemplateError extends LisaError {
  /** Where the template came from (a tokenizer_config.json path, or "built-in"). */
  readonly source: string;
  constructor(source: string, detail: string) {
    super(`${source}: chat_template: ${detail}`);
    this.source = source;
  }
}

/**
 * The fallback used when a model has no chat_template: ChatML as plain text (the Qwen/OpenAI layout):
 *   <|im_start|>{role}\n{content}<|im_end|>\n   per message, and  <|im_start|>assistant\n  as generation prompt.
 * For models without `<|im_start|>`/`<|im_end|>` in their vocabulary these markers are ordinary text, which is
 * fine for fine-tuning (the model learns them) and keeps every turn's boundaries explicit for loss masking.
 * No BOS is written: the tokenizer adds it when encoding with special tokens.
 */
export const FALLBACK_CHAT_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/**
 * Picks the template string from tokenizer_config.json's `chat_template`, which is a string, a list of
 * {name, template} (the named one, else "default"), or absent. Returns null when there is none.
 */
export function pickChatTemplate(value: unknown, name = 'default', source = 'tokenizer_config.json'): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    const entries = value as { name?: unknown; template?: unknown }[];
    const found = entries.find((t) => t?.name === name) ?? entries.find((t) => t?.name === 'default');
    if (found === undefined) return null;
    if (typeof found.template !== 'string') throw new ChatTemplateError(source, `entry ${JSON.stringify(found.name)} has no string "template"`);
    return found.template;
  }
  throw new ChatTemplateError(source, `expected a string or a list of {name, template}, got ${typeof value}`);
}

/** A compiled chat template. */
export class ChatTemplate {
  readonly source: string;
  readonly text: string;
  /** True when this is FALLBACK_CHAT_TEMPLATE because the model had none. */
  readonly isFallback: boolean;
  private readonly compiled: Template;

  /** @param template the Jinja text, or null for the built-in ChatML fallback */
  constructor(template: string | null, source = 'built-in') {
    this.isFallback = template === null;
    this.text = template ?? FALLBACK_CHAT_TEMPLATE;
    this.source = this.isFallback ? 'built-in ChatML template' : source;
    try {
      this.compiled = new Template(this.text);
    } catch (e) {
      throw new ChatTemplateError(this.source, `does not parse: ${(e as Error).message}`);
    }
  }

  /** Renders the conversation to the text the model sees. */
  render(messages: readonly ChatMessage[], opts: ChatRenderOptions = {}): string {
    messages.forEach((m, i) => {
      if (typeof m?.role !== 'string' || typeof m?.content !== 'string') {
        throw new ChatTemplateError(this.source, `message ${i} must be {role: string, content: string}`);
      }
    });
    const vars: Record<string, unknown> = {
      ...opts.extra,
      messages: messages.map((m) => ({ ...m })),
      add_generation_prompt: opts.addGenerationPrompt ?? false,
      bos_token: opts.bosToken ?? '',
      eos_token: opts.eosToken ?? '',
    };
    // raise_exception is a @huggingface/jinja global (it throws Error(message)) and cannot be redefined, so a
    // template's own exception and a runtime error both arrive here; the message says which.
    try {
      return this.compiled.render(vars);
    } catch (e) {
      throw new ChatTemplateError(this.source, `render failed: ${(e as Error).message}`);
    }
  }

  /**
   * Splits the rendered conversation into per-message spans for loss masking. Message k's span is
   * render(messages[0..k]) minus render(messages[0..k-1]); for an assistant message the part that the generation
   * prompt accounts for (e.g. "<|im_start|>assistant\n" or nothing) is a separate untrained span, so `train` marks
   * exactly the assistant's reply and what the template appends after it (end-of-turn markers, eos).
   * Throws ChatTemplateError when a template renders a prefix of the conversation as something that is not a prefix
   * of the full text (such templates cannot be split this way).
   */
  segments(messages: readonly ChatMessage[], opts: Omit<ChatRenderOptions, 'addGenerationPrompt'> = {}): ChatSegment[] {
    const out: ChatSegment[] = [];
    let prev = '';
    const push = (role: string, text: string, train: boolean) => {
      if (text.length > 0) out.push({ role, text, train, start: prev.length, end: prev.length + text.length });
      prev += text;
    };
    const expectPrefix = (full: string, k: number) => {
      if (!full.startsWith(prev)) {
        throw new ChatTemplateError(this.source, `rendering of the first ${k} messages is not a prefix of the rendering with more; cannot split into segments`);
      }
    };
    for (let k = 0; k < messages.length; k++) {
      const msg = messages[k]!;
      if (msg.role === 'assistant') {
        const prompt = this.render(messages.slice(0, k), { ...opts, addGenerationPrompt: true });
        expectPrefix(prompt, k);
        push('assistant_prompt', prompt.slice(prev.length), false);
        const full = this.render(messages.slice(0, k + 1), opts);
        expectPrefix(full, k + 1);
        push('assistant', full.slice(prev.length), true);
      } else {
        const full = this.render(messages.slice(0, k + 1), opts);
        expectPrefix(full, k + 1);
        push(msg.role, full.slice(prev.length), false);
      }
    }
    return out;
  }
}

/** A span of rendered chat text: [start, end) in the full rendering, the role it belongs to, and whether loss applies. */
export interface ChatSegment {
  role: string;
  text: string;
  train: boolean;
  start: number;
  end: number;
}

/** Renders with `template` (null: the ChatML fallback). Convenience for one-off rendering. */
export function renderChat(template: string | null, messages: readonly ChatMessage[], opts: ChatRenderOptions = {}): string {
  return new ChatTemplate(template).render(messages, opts);
}
