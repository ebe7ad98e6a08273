// The `lisa` CLI: argument parsing only; each command lives in its own file and calls into the library.
import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { registerCommands } from './commands.js';
import { CliExit } from './exit.js';
import { errorMessage } from './error-message.js';

/** The installed package's version (package.json sits two folders up from src/cli and dist/cli alike). */
const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

/** Runs the CLI on argv (without node and script); returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = new Command('lisa')
    .description('LISA, LoRA and full fine-tuning of GPT-2 and Llama-family models')
    .version(VERSION, '-V, --version', 'print the version of lisa-tune')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  registerCommands(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    if (e instanceof CliExit) return e.code;
    process.stderr.write(`${errorMessage(e, argv)}\n`);
    if (process.env.LISA_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
    return 1;
  }
}
