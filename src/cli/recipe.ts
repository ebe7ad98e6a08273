// `lisa recipe --to axolotl|lmflow CONFIG [--out FILE] [--data-dir DIR]`: translates a lisa-tune config for a
// multi-GPU trainer, writes converted data files where needed, and says on stderr what cannot be carried over.
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../train/config.js';
import { toAxolotl } from '../recipe/axolotl.js';
import { toLmflow } from '../recipe/lmflow.js';
import { RecipeError } from '../recipe/common.js';

const TOOLS = { axolotl: toAxolotl, lmflow: toLmflow } as const;
type Tool = keyof typeof TOOLS;

interface RecipeArgs { to: string; out?: string; dataDir?: string; set: string[] }

export function registerRecipe(program: Command): void {
  program.command('recipe')
    .description('translate a config into an axolotl YAML config or an LMFlow command, for multi-GPU runs')
    .argument('<config>', 'lisa-tune YAML or JSON config')
    .requiredOption('--to <tool>', 'axolotl or lmflow')
    .option('--out <file>', 'write the config/command here (default: stdout)')
    .option('--data-dir <dir>', 'folder for converted data files (default: beside --out, else ./<tool>-data)')
    .option('--set <assignment...>', 'override a config key first, as in lisa train', [])
    .action((path: string, o: RecipeArgs) => {
      if (!Object.hasOwn(TOOLS, o.to)) {
        throw new RecipeError(`--to: unknown tool '${o.to}'; expected one of ${Object.keys(TOOLS).join(', ')}`);
      }
      const tool = o.to as Tool;
      const cfg = loadConfig(path, o.set);
      const dataDir = o.dataDir ?? (o.out ? join(dirname(o.out), `${basename(o.out, extname(o.out))}-data`) : `${tool}-data`);
      const recipe = TOOLS[tool](cfg, path, dataDir);
      for (const f of recipe.files) {
        mkdirSync(dirname(f.path), { recursive: true });
        writeFileSync(f.path, f.text);
        process.stderr.write(`wrote converted data ${f.path}\n`);
      }
      if (o.out) {
        mkdirSync(dirname(o.out), { recursive: true });
        writeFileSync(o.out, recipe.text);
        process.stderr.write(`wrote ${o.out}\n`);
      } else process.stdout.write(recipe.text);
      if (recipe.notes.length > 0) {
        process.stderr.write(`not carried over to ${tool} (check these):\n${recipe.notes.map((n) => `  - ${n}\n`).join('')}`);
      }
    });
}
