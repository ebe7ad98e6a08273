// The `lisa` CLI: argument parsing only; each command lives in its own file and calls into the library.
import { Command, CommanderError } from 'commander';
import { registerCommands } from './commands.js';
import { CliExit } from './exit.js';

/** Runs the CLI on argv (without node and script); returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = new Command('lisa')
    .description('LISA, LoRA and full fine-tuning of GPT-2 and Llama-family models')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  registerCommands(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    if (e instanceof CliExit) return e.code;
    const err = e as Error;
    process.stderr.write(`lisa: ${err.name && err.name !== 'Error' ? `${err.name}: ` : ''}${err.message}\n`);
    if (process.env.LISA_DEBUG) process.stderr.write(`${err.stack}\n`);
    return 1;
  }
}
