// Alpaca instruction data (JSON array or JSONL of {instruction, input, output}) and the Alpaca prompt template.
import type { Tokenizer } from './tokenizer.js';
import { promptExample, type PromptResponseExample, readRecords, stringField } from './prompt.js';

/**
 * The Stanford Alpaca prompt (tatsu-lab/stanford_alpaca), with a newline after "### Response:" as alpaca-lora and
 * LLaMA-Factory write it (the original train.py has none). The response is the output followed by EOS.
 *
 *   Below is an instruction that describes a task, paired with an input that provides further context. Write a
 *   response that appropriately completes the request.\n\n### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n
 *   ### Response:\n
 *
 * and, when the input is empty:
 *
 *   Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n
 *   ### Instruction:\n{instruction}\n\n### Response:\n
 */
export const ALPACA_PROMPT_WITH_INPUT =
  'Below is an instruction that describes a task, paired with an input that provides further context. ' +
  'Write a response that appropriately completes the request.\n\n' +
  '### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n';
export const ALPACA_PROMPT_NO_INPUT =
  'Below is an instruction that describes a task. ' +
  'Write a response that appropriately completes the request.\n\n' +
  '### Instruction:\n{instruction}\n\n### Response:\n';

export interface AlpacaRecord {
  instruction: string;
  /** '' when the record has none. */
  input: string;
  output: string;
  /** "file:line" or "file[index]", for messages. */
  where: string;
}

/** The Alpaca prompt for an instruction and an optional input (an input of only whitespace counts as none). */
export function alpacaPrompt(instruction: string, input = ''): string {
  const fill = (t: string) => t.replace('{instruction}', () => instruction).replace('{input}', () => input);
  return input.trim() === '' ? fill(ALPACA_PROMPT_NO_INPUT) : fill(ALPACA_PROMPT_WITH_INPUT);
}

/** Reads and checks every record: instruction and output strings, input a string, null or missing. */
export function readAlpaca(path: string): AlpacaRecord[] {
  return readRecords(path).map((rec) => ({
    instruction: stringField(rec, 'instruction'),
    input: stringField(rec, 'input', { optional: true }),
    output: stringField(rec, 'output'),
    where: rec.where,
  }));
}

/** One record as an example: the prompt (masked with maskPrompt), then output + EOS (learned). */
export function alpacaExample(tok: Tokenizer, r: Pick<AlpacaRecord, 'instruction' | 'input' | 'output'>, maskPrompt: boolean): PromptResponseExample {
  return promptExample(tok, alpacaPrompt(r.instruction, r.input), r.output, maskPrompt);
}
