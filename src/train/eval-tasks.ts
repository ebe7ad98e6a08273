// Downstream task evaluation (`lisa eval --task NAME`): GSM8K by greedy generation and exact match of the final
// number; PubMedQA by comparing the likelihood of each label (" yes", " no", " maybe") after the prompt.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CausalLM } from '../models/causal-lm.js';
import type { Tokenizer } from '../data/tokenizer.js';
import { generate } from '../models/generate.js';
import { lmLoss } from '../models/lm-loss.js';
import { noGrad } from '../autograd/tape.js';
import { scope } from '../tensor/scope.js';
import { IGNORE_INDEX } from '../data/example.js';
import {
  extractGsm8kAnswer, gsm8kFinalAnswer, gsm8kPrompt, readGsm8k, pubmedqaPrompt, pubmedqaTarget, readPubmedqa,
  readPubmedqaGroundTruth, PUBMEDQA_DECISIONS, type PubmedqaDecision,
} from '../data/tasks.js';

export const EVAL_TASK_NAMES = ['gsm8k', 'pubmedqa'] as const;
export type EvalTaskName = (typeof EVAL_TASK_NAMES)[number];

export interface EvalTaskContext {
  model: CausalLM;
  tokenizer: Tokenizer;
  /** The task's data file (GSM8K test.jsonl; PubMedQA ori_pqal.json). */
  path: string;
  limit?: number;
  /** Tokens generated at most per GSM8K answer (default 256; at most half the model's context). */
  maxNewTokens?: number;
}

export type TaskMetrics = { accuracy: number; correct: number; examples: number };

/** Keeps the last n ids (the question and "Answer:" sit at the end of the prompt). */
const tail = (ids: number[], n: number) => (ids.length > n ? ids.slice(ids.length - n) : ids);

export function evalGsm8k(ctx: EvalTaskContext): TaskMetrics & { completions: { answer: string | null; gold: string | null }[] } {
  const records = readGsm8k(ctx.path).slice(0, ctx.limit);
  // The answer may use at most half the context, so a long budget on a short-context model still leaves the
  // question's tail room (a budget of the whole context would leave the prompt no tokens at all).
  const maxNew = Math.min(ctx.maxNewTokens ?? 256, Math.floor(ctx.model.maxPositions / 2));
  const completions: { answer: string | null; gold: string | null }[] = [];
  let correct = 0;
  for (const r of records) {
    const prompt = tail(ctx.tokenizer.encode(gsm8kPrompt(r.question)), ctx.model.maxPositions - maxNew);
    const eos = ctx.tokenizer.eosId;
    const newIds: number[] = [];
    generate(ctx.model, prompt, {
      maxNewTokens: Math.min(maxNew, ctx.model.maxPositions - prompt.length), temperature: 0,
      eosIds: eos === null ? undefined : [eos],
      onToken: (id) => {
        newIds.push(id);
        // A new "Question:" means the answer is over (base models continue the few-shot pattern).
        return !ctx.tokenizer.decode(newIds, { skipSpecialTokens: true }).includes('\nQuestion:');
      },
    });
    const text = ctx.tokenizer.decode(newIds, { skipSpecialTokens: true }).split('\nQuestion:')[0];
    const answer = extractGsm8kAnswer(text);
    const gold = gsm8kFinalAnswer(r.answer);
    if (answer !== null && answer === gold) correct++;
    completions.push({ answer, gold });
  }
  return { accuracy: records.length ? correct / records.length : NaN, correct, examples: records.length, completions };
}

/** Negative log-likelihood of each label continuation after the prompt. */
export function pubmedqaLabelNll(model: CausalLM, tok: Tokenizer, prompt: string): Record<PubmedqaDecision, number> {
  const promptIds = tok.encode(prompt);
  const out = {} as Record<PubmedqaDecision, number>;
  for (const d of PUBMEDQA_DECISIONS) {
    const full = tok.encode(prompt + pubmedqaTarget(d));
    // The label's tokens: what the full encoding adds after the prompt's (they agree up to the label).
    let common = 0;
    while (common < promptIds.length && full[common] === promptIds[common]) common++;
    const ids = tail(full, model.maxPositions);
    const labelStart = Math.max(1, common - (full.length - ids.length));
    const targets = new Int32Array(ids.length).fill(IGNORE_INDEX);
    for (let t = labelStart - 1; t < ids.length - 1; t++) targets[t] = ids[t + 1];
    out[d] = noGrad(() => scope(() => lmLoss(model, Int32Array.from(ids), targets, 1, ids.length, { reduction: 'sum' }).item()));
  }
  return out;
}

export function evalPubmedqa(ctx: EvalTaskContext): TaskMetrics & { predictions: { id: string; predicted: PubmedqaDecision; gold: PubmedqaDecision }[] } {
  let entries = readPubmedqa(ctx.path);
  // With PubMedQA's test_ground_truth.json beside the data, score the official 500-question test split.
  const truthPath = join(dirname(ctx.path), 'test_ground_truth.json');
  if (existsSync(truthPath)) {
    const truth = readPubmedqaGroundTruth(truthPath);
    entries = entries.filter((e) => truth.has(e.id));
  }
  entries = entries.slice(0, ctx.limit);
  const predictions: { id: string; predicted: PubmedqaDecision; gold: PubmedqaDecision }[] = [];
  for (const e of entries) {
    const nll = pubmedqaLabelNll(ctx.model, ctx.tokenizer, pubmedqaPrompt(e));
    const predicted = PUBMEDQA_DECISIONS.reduce((best, d) => (nll[d] < nll[best] ? d : best));
    predictions.push({ id: e.id, predicted, gold: e.decision });
  }
  const correct = predictions.filter((p) => p.predicted === p.gold).length;
  return { accuracy: entries.length ? correct / entries.length : NaN, correct, examples: entries.length, predictions };
}

/** The task evaluators by name; each returns its headline metrics. */
export const EVAL_TASKS: Record<EvalTaskName, (ctx: EvalTaskContext) => TaskMetrics> = {
  gsm8k: (ctx) => {
    const { accuracy, correct, examples } = evalGsm8k(ctx);
    return { accuracy, correct, examples };
  },
  pubmedqa: (ctx) => {
    const { accuracy, correct, examples } = evalPubmedqa(ctx);
    return { accuracy, correct, examples };
  },
};
