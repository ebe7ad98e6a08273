// The list of `lisa` subcommands: each file registers one command on the program.
import type { Command } from 'commander';
import { registerTrain } from './train.js';
import { registerExport } from './export.js';
import { registerConvert } from './convert.js';
import { registerGenerate } from './generate.js';
import { registerEval } from './eval.js';
import { registerMemory } from './memory.js';
import { registerQuickstart } from './quickstart.js';
import { registerRecipe } from './recipe.js';
import { registerNorms } from './norms.js';
import { registerCompare } from './compare.js';

const COMMANDS: ((program: Command) => void)[] = [registerTrain, registerExport, registerConvert, registerGenerate, registerEval, registerMemory, registerQuickstart, registerRecipe, registerNorms, registerCompare];

export function registerCommands(program: Command): void {
  for (const register of COMMANDS) register(program);
}
