// `lisa train` bad input: each case gives a clear error and never damages a checkpoint.
import { describe, it, expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../cli-helpers.js';
import { findCheckpoint } from '../../src/train/checkpoint.js';
import { writeFixtureRun, readMetrics } from './fixture-run.js';

function withConfig(mutate: (c: Record<string, Record<string, unknown>>) => void): { configPath: string; out: string; root: string } {
  const r = writeFixtureRun();
  const c = JSON.parse(readFileSync(r.configPath, 'utf8'));
  mutate(c);
  writeFileSync(r.configPath, JSON.stringify(c));
  return r;
}

describe('lisa train rejects bad input clearly', () => {
  it('malformed config file', async () => {
    const r = writeFixtureRun();
    writeFileSync(r.configPath, 'model: [unclosed');
    const { code, err } = await runCli(['train', r.configPath]);
    expect(code).toBe(1);
    expect(err).toMatch(/config\.json: not valid YAML or JSON/);
  });

  it('unknown key with a suggestion, and a bad value naming key, value and expectation', async () => {
    let r = withConfig((c) => { c.optim.learningRate = 1; });
    expect((await runCli(['train', r.configPath])).err).toMatch(/unknown key 'optim\.learningRate'.*allowed: lr,/);
    r = withConfig((c) => { c.train.batchsize = 2; });
    expect((await runCli(['train', r.configPath])).err).toMatch(/unknown key 'train\.batchsize' \(did you mean 'train\.batchSize'\?\)/);
    r = withConfig((c) => { c.train.batchSize = -3; });
    expect((await runCli(['train', r.configPath])).err).toMatch(/'train\.batchSize' = -3: Number must be greater than 0/);
    r = withConfig((c) => { c.method.gamma = 9; });
    expect((await runCli(['train', r.configPath])).err).toMatch(/gamma 9 is larger than the number of blocks \(4\)/);
  });

  it('missing files', async () => {
    expect((await runCli(['train', '/nonexistent/cfg.yaml'])).err).toMatch(/\/nonexistent\/cfg\.yaml: cannot read the config file \(ENOENT\)/);
    const r = withConfig((c) => { c.data.path = '/nonexistent/data.jsonl'; });
    expect((await runCli(['train', r.configPath])).err).toMatch(/\/nonexistent\/data\.jsonl: cannot read the data file/);
  });

  it('malformed JSON lines name the line number; an empty dataset is an error', async () => {
    const r = writeFixtureRun();
    const data = JSON.parse(readFileSync(r.configPath, 'utf8')).data.path;
    writeFileSync(data, '{"input_ids": [1, 2, 3]}\n{"input_ids": [1, 2,\n');
    expect((await runCli(['train', r.configPath])).err).toMatch(/data\.jsonl:2: not valid JSON/);
    writeFileSync(data, '\n\n');
    expect((await runCli(['train', r.configPath])).err).toMatch(/data\.jsonl: the dataset is empty/);
  });

  it('a sequence longer than the context', async () => {
    const r = withConfig((c) => { c.data.maxLength = 1000; });
    expect((await runCli(['train', r.configPath])).err).toMatch(/data\.maxLength = 1000 is longer than the model's context \(64\)/);
  });

  it('a NaN loss stops the run, says so, and keeps the last good checkpoint', async () => {
    const r = withConfig((c) => { c.optim.lr = 1e30; c.train.saveEvery = 1; c.train.steps = 8; c.method = { kind: 'full' }; });
    const { code, err } = await runCli(['train', r.configPath]);
    expect(code).toBe(1);
    const m = err.match(/step (\d+): the loss is NaN; stopping without applying this update\. The last good checkpoint is kept in (\S+)\./);
    expect(m).not.toBeNull();
    const bad = Number(m![1]);
    expect(readMetrics(r.out).map((x) => x.step)).toEqual(Array.from({ length: bad - 1 }, (_, i) => i + 1));
    const state = JSON.parse(readFileSync(join(findCheckpoint(r.out)!, 'state.json'), 'utf8'));
    expect(state.step).toBe(bad - 1);
  });

  it('a full disk during a save fails clearly and keeps the previous checkpoint', async () => {
    const r = withConfig((c) => { c.train.saveEvery = 1; c.train.steps = 3; });
    const out = JSON.parse(readFileSync(r.configPath, 'utf8')).out;
    mkdirSync(out, { recursive: true });
    try {
      // Room for one checkpoint (about 90 KB) but not for a second one written beside it.
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=160k', 'tmpfs', out], { stdio: 'ignore' });
    } catch {
      console.warn('NOTICE: skipping the full-disk test: this machine does not allow mounting a small tmpfs');
      return;
    }
    try {
      const { code, err } = await runCli(['train', r.configPath]);
      expect(code).toBe(1);
      expect(err).toMatch(/saving the checkpoint in .* failed \(disk full\).*the previous checkpoint is kept/);
      const dir = findCheckpoint(out);
      expect(dir).not.toBeNull();
      expect(JSON.parse(readFileSync(join(dir!, 'state.json'), 'utf8')).step).toBe(1);
      expect(existsSync(join(out, 'checkpoint.tmp'))).toBe(false);
    } finally {
      execFileSync('umount', [out]);
    }
  });
});
