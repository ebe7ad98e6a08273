// A command that has said all it has to say and ends with a given exit code (e.g. 130 after Ctrl-C).
export class CliExit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}
