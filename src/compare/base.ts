// The base model every run of a comparison starts from: a local or hub model folder as given, or, for a
// `model.init` config, one set of initial weights (seeded by train.seed) written once to OUT/base, so that all
// methods and seeds start from the same weights and the norms analysis has a base to measure against.
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createModel, initWeights, parseConfig, saveModel } from '../models/index.js';
import { loadTokenizer } from '../data/tokenizer.js';
import { resolveModel } from '../io/hub.js';
import { CONFIG_FILE } from '../io/hf-folder.js';
import { Rng } from '../util/rng.js';

export interface BaseModel {
  /** The folder runs load (OUT/base for an init base). */
  ref: string;
  /** An init base: the config, the seed of its weights and the tokenizer to save beside them. */
  init?: { config: Record<string, unknown>; seed: number; tokenizer?: string };
}

/** Writes an init base to its folder (once; a finished folder is kept) and returns the base's local folder. */
export async function prepareBase(base: BaseModel): Promise<string> {
  if (!base.init) return existsSync(base.ref) && statSync(base.ref).isDirectory() ? base.ref : resolveModel(base.ref);
  if (existsSync(join(base.ref, CONFIG_FILE))) return base.ref;
  const tmp = `${base.ref}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  const model = createModel(parseConfig(base.init.config, 'model.init'));
  try {
    initWeights(model, new Rng(base.init.seed));
    saveModel(tmp, model);
  } finally {
    model.dispose();
  }
  if (base.init.tokenizer) loadTokenizer(base.init.tokenizer).save(tmp);
  renameSync(tmp, base.ref);
  return base.ref;
}
