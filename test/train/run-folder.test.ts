// One run per output folder and no silent loss of a finished run: the lock (live, stale, other host), refusal
// to overwrite without --overwrite, --resume without a checkpoint, a resume with a changed config, and a batch
// larger than the dataset, each through the `lisa train` CLI.
import { describe, it, expect } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../cli-helpers.js';
import { repoRoot } from '../helpers.js';
import { writeFixtureRun, readMetrics } from './fixture-run.js';

describe('the output folder of lisa train', () => {
  it('a second run into a folder in use is refused; the first stops cleanly; the lock goes with it', async () => {
    const r = writeFixtureRun({ train: { steps: 100_000, batchSize: 2, seed: 1, logEvery: 1 } });
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/train/run-cli.ts'), 'train', r.configPath],
      { cwd: repoRoot, env: { ...process.env, CI: 'true' } });
    const done = new Promise<number | null>((res) => child.on('close', res));
    await new Promise<void>((res) => child.stdout.on('data', (d) => { if (/step 2\//.test(String(d))) res(); }));
    const lock = JSON.parse(readFileSync(join(r.out, 'lisa.lock'), 'utf8'));
    expect(lock).toMatchObject({ pid: child.pid, host: hostname() });
    const second = await runCli(['train', r.configPath, '--overwrite']);
    expect(second.code).toBe(1);
    expect(second.err).toContain(`${r.out} is in use by another lisa train (pid ${child.pid} on ${hostname()})`);
    child.kill('SIGINT');
    expect(await done).toBe(130);
    expect(existsSync(join(r.out, 'lisa.lock'))).toBe(false);
  }, 120_000);

  it('a stale lock from a dead process is taken over; another host\'s lock is refused', async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid;
    const r = writeFixtureRun({}, 2);
    mkdirSync(r.out);
    writeFileSync(join(r.out, 'lisa.lock'), JSON.stringify({ pid: dead, host: hostname(), started: '1' }));
    expect((await runCli(['train', r.configPath])).code).toBe(0);
    expect(existsSync(join(r.out, 'lisa.lock'))).toBe(false);
    const other = writeFixtureRun({}, 2);
    mkdirSync(other.out);
    writeFileSync(join(other.out, 'lisa.lock'), JSON.stringify({ pid: 1, host: 'gpu-node-7', started: null }));
    const res = await runCli(['train', other.configPath]);
    expect(res.code).toBe(1);
    expect(res.err).toContain('is locked by a lisa train on host gpu-node-7 (pid 1); if that run is gone, delete');
  });

  it('a finished run is not overwritten without --overwrite', async () => {
    const r = writeFixtureRun({}, 3);
    expect((await runCli(['train', r.configPath])).code).toBe(0);
    const before = readFileSync(join(r.out, 'final', 'model.safetensors'));
    const again = await runCli(['train', r.configPath, '--set', 'optim.lr=0.5']);
    expect(again.code).toBe(1);
    expect(again.err).toContain(`${r.out} holds a previous run (final/, metrics.jsonl (3 steps)); pass --resume to continue it, --overwrite to replace it`);
    expect(readFileSync(join(r.out, 'final', 'model.safetensors')).equals(before)).toBe(true);
    const replaced = await runCli(['train', r.configPath, '--set', 'optim.lr=0.5', '--overwrite']);
    expect(replaced.code).toBe(0);
    expect(readFileSync(join(r.out, 'final', 'model.safetensors')).equals(before)).toBe(false);
  });

  it('--resume with no checkpoint is refused instead of starting afresh', async () => {
    const r = writeFixtureRun({}, 2);
    const res = await runCli(['train', r.configPath, '--resume']);
    expect(res.code).toBe(1);
    expect(res.err).toContain(`--resume: ${r.out} has no checkpoint`);
    expect(existsSync(join(r.out, 'metrics.jsonl'))).toBe(false);
  });

  it('--resume with a config that differs beyond train.steps is refused, naming the keys', async () => {
    const r = writeFixtureRun({ train: { steps: 4, batchSize: 2, seed: 1, saveEvery: 2 } });
    expect((await runCli(['train', r.configPath])).code).toBe(0);
    const res = await runCli(['train', r.configPath, '--resume', '--set', 'optim.lr=0.5', 'method.gamma=2', 'train.steps=6']);
    expect(res.code).toBe(1);
    expect(res.err).toContain("differs from the one");
    expect(res.err).toContain("in 'method.gamma', 'optim.lr' (only 'train.steps' and 'train.gradientCheckpointing' may change on resume)");
    const more = await runCli(['train', r.configPath, '--resume', '--set', 'train.steps=6']);
    expect(more.code).toBe(0);
    expect(readMetrics(r.out).map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('a batch larger than the dataset is refused with the numbers', async () => {
    const r = writeFixtureRun({ train: { steps: 2, batchSize: 5000, seed: 1 } });
    const res = await runCli(['train', r.configPath]);
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/'train.batchSize' = 5000 is larger than the \d+ training examples of .*data.jsonl; use at most \d+/);
  });
});
