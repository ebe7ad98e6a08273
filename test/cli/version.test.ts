// `lisa --version` prints the version in package.json and exits 0 (what `npx lisa --version` shows a user).
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../cli-helpers.js';
import { repoRoot } from '../helpers.js';

describe('lisa --version', () => {
  it('prints package.json\'s version', async () => {
    const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = await runCli([flag]);
      expect(r.code).toBe(0);
      expect(r.out).toBe(`${version}\n`);
    }
  });
});
