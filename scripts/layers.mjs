// The layer order of design.md section 3, lowest first (with the folders added since: analysis, report, compare,
// recipe): a folder of src/ may import only from folders before it.
export const LAYERS = [
  'util', 'backends', 'tensor', 'autograd', 'ops', 'nn', 'io', 'data', 'models', 'optim', 'finetune', 'train',
  'analysis', 'report', 'compare', 'recipe', 'cli',
];

/** Files directly in src/ that sit above every layer (the public API). */
export const TOP_FILES = ['index.ts'];

/** The cap on lines per source file (src/ and native/; tests are exempt). */
export const MAX_LINES = 500;
