// Task datasets with fixed prompt formats, shared by fine-tuning and task evaluation: GSM8K (grade-school math,
// answers ending in "#### N") and PubMedQA PQA-L (yes/no/maybe questions on an abstract).
import type { Tokenizer } from './tokenizer.js';
import { DataError } from './data-error.js';
import { describeValue, parseJsonFile, promptExample, type PromptResponseExample, readDataText, readRecords, stringField, type ColumnMap } from './prompt.js';

// ---------------------------------------------------------------------------------------------------- GSM8K

/**
 * GSM8K prompt, as in lm-evaluation-harness's gsm8k task: "Question: {question}\nAnswer:". The target is
 * " {answer}" (a space, then the full worked answer with its <<calculator>> annotations and final "#### N"),
 * followed by EOS when fine-tuning.
 */
export function gsm8kPrompt(question: string): string {
  return `Question: ${question}\nAnswer:`;
}

/** The fine-tuning target for a GSM8K answer: " " + answer. */
export function gsm8kTarget(answer: string): string {
  return ` ${answer}`;
}

const FINAL = /####\s*(-?[\d,]*\.?\d+)\s*$/;

/** The final number of a GSM8K reference answer ("... #### 1,234" -> "1234"), or null when there is none. */
export function gsm8kFinalAnswer(answer: string): string | null {
  const m = FINAL.exec(answer);
  return m ? normalizeNumber(m[1]!) : null;
}

/**
 * The answer a model's completion gives: the number after the first "####" if there is one, else the last number
 * in the text (commas and a trailing ".0" dropped), or null. Compare with gsm8kFinalAnswer for exact match.
 */
export function extractGsm8kAnswer(completion: string): string | null {
  const marked = /####\s*\$?\s*(-?[\d,]*\.?\d+)/.exec(completion);
  if (marked) return normalizeNumber(marked[1]!);
  const all = completion.match(/-?[\d,]*\.?\d+/g);
  return all ? normalizeNumber(all[all.length - 1]!) : null;
}

function normalizeNumber(s: string): string {
  let n = s.replace(/,/g, '');
  if (n.includes('.')) n = n.replace(/\.?0+$/, '');
  if (n.startsWith('.')) n = `0${n}`;
  if (n.startsWith('-.')) n = `-0${n.slice(1)}`;
  return n === '-0' ? '0' : n;
}

export interface Gsm8kRecord {
  question: string;
  answer: string;
  /** The number after "####", normalized. */
  final: string;
  where: string;
}

/** Reads GSM8K JSONL ({question, answer} per line); an answer must end in "#### <number>". */
export function readGsm8k(path: string, columns?: ColumnMap): Gsm8kRecord[] {
  return readRecords(path, columns).map((rec) => {
    const question = stringField(rec, 'question');
    const answer = stringField(rec, 'answer');
    const final = gsm8kFinalAnswer(answer);
    if (final === null) throw new DataError(`${rec.where}: 'answer' must end in '#### <number>' (GSM8K format), got ...${JSON.stringify(answer.slice(-40))}`);
    return { question, answer, final, where: rec.where };
  });
}

/** A GSM8K record as an example: gsm8kPrompt (masked with maskPrompt), then gsm8kTarget + EOS (learned). */
export function gsm8kExample(tok: Tokenizer, r: Pick<Gsm8kRecord, 'question' | 'answer'>, maskPrompt: boolean): PromptResponseExample {
  return promptExample(tok, gsm8kPrompt(r.question), gsm8kTarget(r.answer), maskPrompt);
}

// ------------------------------------------------------------------------------------------------- PubMedQA

export const PUBMEDQA_DECISIONS = ['yes', 'no', 'maybe'] as const;
export type PubmedqaDecision = (typeof PUBMEDQA_DECISIONS)[number];

export interface PubmedqaEntry {
  /** The PubMed id (the key in ori_pqal.json). */
  id: string;
  question: string;
  contexts: string[];
  decision: PubmedqaDecision;
  longAnswer: string;
}

/**
 * PubMedQA prompt, as in lm-evaluation-harness's pubmedqa task: "Abstract: {contexts joined by \n}\nQuestion:
 * {question}\nAnswer:". The target is " yes", " no" or " maybe" (+ EOS when fine-tuning); an evaluation can score
 * the three continuations by log-likelihood, or generate and read the first word.
 */
export function pubmedqaPrompt(entry: Pick<PubmedqaEntry, 'question' | 'contexts'>): string {
  return `Abstract: ${entry.contexts.join('\n')}\nQuestion: ${entry.question}\nAnswer:`;
}

/** The fine-tuning target for a PubMedQA decision: " " + decision. */
export function pubmedqaTarget(decision: PubmedqaDecision): string {
  return ` ${decision}`;
}

const isDecision = (v: unknown): v is PubmedqaDecision => typeof v === 'string' && (PUBMEDQA_DECISIONS as readonly string[]).includes(v);

/**
 * Reads PubMedQA's ori_pqal.json: {pmid: {QUESTION, CONTEXTS: string[], final_decision: yes|no|maybe,
 * LONG_ANSWER}} (other keys are ignored), in file order.
 */
export function readPubmedqa(path: string): PubmedqaEntry[] {
  const all = parseJsonFile(path, readDataText(path));
  if (all === null || typeof all !== 'object' || Array.isArray(all)) throw new DataError(`${path}: expected a JSON object {pmid: {QUESTION, CONTEXTS, final_decision}} (PubMedQA ori_pqal.json)`);
  return Object.entries(all as Record<string, unknown>).map(([id, v]) => {
    const where = `${path}: entry "${id}"`;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new DataError(`${where}: expected an object, got ${describeValue(v)}`);
    const e = v as Record<string, unknown>;
    if (typeof e['QUESTION'] !== 'string') throw new DataError(`${where}: 'QUESTION' must be a string, got ${describeValue(e['QUESTION'])}`);
    const ctx = e['CONTEXTS'];
    if (!Array.isArray(ctx) || !ctx.every((c) => typeof c === 'string')) throw new DataError(`${where}: 'CONTEXTS' must be a list of strings, got ${describeValue(ctx)}`);
    if (!isDecision(e['final_decision'])) throw new DataError(`${where}: 'final_decision' must be "yes", "no" or "maybe", got ${describeValue(e['final_decision'])}`);
    const long = e['LONG_ANSWER'];
    if (long !== undefined && long !== null && typeof long !== 'string') throw new DataError(`${where}: 'LONG_ANSWER' must be a string, got ${describeValue(long)}`);
    return { id, question: e['QUESTION'], contexts: ctx as string[], decision: e['final_decision'], longAnswer: (long as string | undefined) ?? '' };
  });
}

/** Reads PubMedQA's test_ground_truth.json ({pmid: "yes"|"no"|"maybe"}): the test split's ids and labels. */
export function readPubmedqaGroundTruth(path: string): Map<string, PubmedqaDecision> {
  const all = parseJsonFile(path, readDataText(path));
  if (all === null || typeof all !== 'object' || Array.isArray(all)) throw new DataError(`${path}: expected a JSON object {pmid: "yes"|"no"|"maybe"}`);
  const out = new Map<string, PubmedqaDecision>();
  for (const [id, v] of Object.entries(all as Record<string, unknown>)) {
    if (!isDecision(v)) throw new DataError(`${path}: entry "${id}": expected "yes", "no" or "maybe", got ${describeValue(v)}`);
    out.set(id, v);
  }
  return out;
}

/** Splits entries into those whose id is in `testIds` and the rest (train), keeping file order. */
export function splitPubmedqa(entries: readonly PubmedqaEntry[], testIds: ReadonlySet<string> | ReadonlyMap<string, unknown>): { train: PubmedqaEntry[]; test: PubmedqaEntry[] } {
  const train: PubmedqaEntry[] = [];
  const test: PubmedqaEntry[] = [];
  for (const e of entries) (testIds.has(e.id) ? test : train).push(e);
  return { train, test };
}

/** A PubMedQA entry as an example: pubmedqaPrompt (masked with maskPrompt), then pubmedqaTarget + EOS (learned). */
export function pubmedqaExample(tok: Tokenizer, e: Pick<PubmedqaEntry, 'question' | 'contexts' | 'decision'>, maskPrompt: boolean): PromptResponseExample {
  return promptExample(tok, pubmedqaPrompt(e), pubmedqaTarget(e.decision), maskPrompt);
}
