// The list of `lisa` subcommands: each file registers one command on the program.
import type { Command } from 'commander';
import { registerTrain } from './train.js';
import { registerExport } from './export.js';

const COMMANDS: ((program: Command) => void)[] = [registerTrain, registerExport];

export function registerCommands(program: Command): void {
  for (const register of COMMANDS) register(program);
}
