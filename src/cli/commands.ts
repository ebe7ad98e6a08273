// The list of `lisa` subcommands: each file registers one command on the program.
import type { Command } from 'commander';

const COMMANDS: ((program: Command) => void)[] = [];

export function registerCommands(program: Command): void {
  for (const register of COMMANDS) register(program);
}
