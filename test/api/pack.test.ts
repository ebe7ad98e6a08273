// The package as a user gets it: `npm pack` (prepare builds dist/ from src/), installed offline from the tarball
// into a project outside the repo (the install script builds the addon from the packed native/ files), then
// examples/api.ts, type-checked against the packed .d.ts and run there: it imports 'lisa-tune', builds a tiny
// Llama with createModel, trains 3 LISA steps with train() and reads the metrics back.
import { afterAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../helpers.js';

const work = mkdtempSync(join(tmpdir(), 'lisa-pack-'));
// The installed project holds a node_modules tree: removing it takes a while on a busy machine.
afterAll(() => rmSync(work, { recursive: true, force: true }), 120_000);

interface Ran { status: number; stdout: string; stderr: string }

/** Runs a command without blocking the test worker (a blocked worker loses its link to the runner). */
function exec(cmd: string, args: string[], cwd: string): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env: cleanEnv(), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ status: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** The environment without the npm_* variables of an enclosing `npm test` (they would redirect the child npm). */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));
}

async function npm(args: string[], cwd: string): Promise<string> {
  const r = await exec('npm', args, cwd);
  if (r.status !== 0) throw new Error(`npm ${args.join(' ')} failed in ${cwd}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

interface LockEntry { dev?: boolean; link?: boolean }

/** A lockfile for a project that depends on the tarball: the package's own non-dev dependency tree, pinned as
 *  in the repo's lockfile, so `npm ci --offline` installs from the npm cache without asking the registry. */
function projectLock(tarball: string): object {
  const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as Record<string, unknown>;
  const packages: Record<string, unknown> = {
    '': { name: 'api-user', dependencies: { 'lisa-tune': `file:${tarball}` } },
    'node_modules/lisa-tune': {
      version: pkg.version, resolved: `file:${tarball}`, hasInstallScript: true, license: pkg.license,
      dependencies: pkg.dependencies, bin: pkg.bin, engines: pkg.engines,
    },
  };
  for (const [k, v] of Object.entries(lock.packages)) if (k.startsWith('node_modules/') && !v.dev && !v.link) packages[k] = v;
  return { name: 'api-user', lockfileVersion: 3, requires: true, packages };
}

interface ApiRun {
  memoryPeakBytes: number;
  steps: { step: number; loss: number; lr: number; activeLayers: number[] }[];
  metricsFile: { step: number; loss: number; activeLayers: number[] }[];
  evals: { step: number; loss: number }[];
  result: { steps: number; stopped: string; lastLoss: number; evalLoss: number; exportDir: string };
  stopped: { steps: number; stopped: string };
  configError: string;
  generated: number[];
}

describe('npm pack, offline install in another project, use from TypeScript', () => {
  it('builds dist/ and the addon from the packed files and trains 3 LISA steps through the public API', async () => {
    // A copy of the package's sources (so building dist/ does not touch the repo's, which other tests run).
    const src = join(work, 'pkg');
    mkdirSync(join(src, 'scripts'), { recursive: true });
    for (const f of ['package.json', 'tsconfig.json', 'README.md', 'src', 'bin', 'native']) cpSync(join(repoRoot, f), join(src, f), { recursive: true });
    copyFileSync(join(repoRoot, 'scripts/build-native.mjs'), join(src, 'scripts/build-native.mjs'));
    symlinkSync(join(repoRoot, 'node_modules'), join(src, 'node_modules'));
    const proj = join(work, 'proj');
    mkdirSync(proj);
    const tarball = (await npm(['pack', '--pack-destination', proj], src)).trim().split('\n').at(-1)!;
    expect(tarball).toBe('lisa-tune-0.1.0.tgz');

    const listed = (await exec('tar', ['tzf', join(proj, tarball)], proj)).stdout.split('\n');
    for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'bin/lisa.js', 'native/kernels.cpp', 'scripts/build-native.mjs']) {
      expect(listed).toContain(`package/${f}`);
    }
    expect(listed.filter((f) => f.startsWith('package/src/') || f.startsWith('package/test/'))).toEqual([]);

    writeFileSync(join(proj, 'package.json'), JSON.stringify({ name: 'api-user', private: true, type: 'module', dependencies: { 'lisa-tune': `file:${tarball}` } }));
    writeFileSync(join(proj, 'package-lock.json'), JSON.stringify(projectLock(tarball)));
    await npm(['ci', '--offline', '--no-audit', '--no-fund'], proj);
    expect(existsSync(join(proj, 'node_modules/lisa-tune/build/lisa_native.node'))).toBe(true);
    expect(existsSync(join(proj, 'node_modules/lisa-tune/dist/index.js'))).toBe(true);

    // The example, type-checked against the installed package's declarations, then run.
    copyFileSync(join(repoRoot, 'examples/api.ts'), join(proj, 'use.ts'));
    writeFileSync(join(proj, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true,
        typeRoots: [join(repoRoot, 'node_modules/@types')], types: ['node'],
      },
      files: ['use.ts'],
    }));
    const tsc = await exec(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', proj], proj);
    expect(tsc.stdout + tsc.stderr).toBe('');
    const tsx = pathToFileURL(join(repoRoot, 'node_modules/tsx/dist/loader.mjs')).href;
    const out = join(work, 'runs');
    const r = await exec(process.execPath, ['--import', tsx, 'use.ts', out], proj);
    expect(r.status, r.stderr).toBe(0);
    const run = JSON.parse(r.stdout) as ApiRun;

    // 3 LISA steps: one of 4 blocks active, the same for steps 1-2 (period 2), resampled at step 3.
    expect(run.steps.map((m) => m.step)).toEqual([1, 2, 3]);
    for (const m of run.steps) {
      expect(Number.isFinite(m.loss)).toBe(true);
      expect(m.lr).toBe(3e-3);
      expect(m.activeLayers).toHaveLength(1);
      expect(m.activeLayers[0]).toBeGreaterThanOrEqual(0);
      expect(m.activeLayers[0]).toBeLessThan(4);
    }
    expect(run.steps[1]!.activeLayers).toEqual(run.steps[0]!.activeLayers);
    // The callbacks saw what metrics.jsonl holds; a counting task's loss starts near ln(64).
    expect(run.metricsFile).toEqual(run.steps.map(({ step, loss, activeLayers }) => ({ step, loss, activeLayers })));
    expect(run.steps[0]!.loss).toBeGreaterThan(Math.log(64) - 0.5);
    expect(run.steps[0]!.loss).toBeLessThan(Math.log(64) + 0.5);
    expect(run.result).toMatchObject({ steps: 3, stopped: 'done', lastLoss: run.steps[2]!.loss, evalLoss: run.evals.at(-1)!.loss });
    expect(run.evals.map((e) => e.step)).toEqual([3]);
    expect(existsSync(join(run.result.exportDir, 'model.safetensors'))).toBe(true);
    expect(existsSync(join(run.result.exportDir, 'config.json'))).toBe(true);
    // The AbortSignal stopped the second run after its first step, with a checkpoint.
    expect(run.stopped).toEqual({ steps: 1, stopped: 'interrupted' });
    expect(existsSync(join(out, 'stopped', 'checkpoint', 'state.json'))).toBe(true);
    expect(run.configError).toContain("'method.gamma' = -1");
    expect(run.generated).toHaveLength(4);
    expect(run.memoryPeakBytes).toBeGreaterThan(0);
  }, 900_000);
});
