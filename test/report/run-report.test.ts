// A run's report.html from its logs: written from known metrics.jsonl/eval.jsonl rows with one mark per
// logged value, a notice page for a run with no step yet, and written by `lisa train` itself at the end.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeRunReport } from '../../src/report/run-report.js';
import { repoRoot } from '../helpers.js';

const marks = (html: string, figure: string, role: string) => {
  const fig = new RegExp(`<figure id="${figure}" class="chart">([\\s\\S]*?)</figure>`).exec(html);
  if (!fig) throw new Error(`no figure ${figure}`);
  return (fig[1].match(new RegExp(`aria-roledescription="${role}"`, 'g')) ?? []).length;
};

describe('run report', () => {
  it('charts every logged step and evaluation', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lisa-run-report-'));
    const steps = Array.from({ length: 6 }, (_, i) => ({
      step: i + 1, loss: 3 - 0.1 * i, lr: 1e-3 * (1 - i / 6), gradNorm: 1 + i, tokensPerSec: 100 * (i + 1), seconds: 0.5,
      activeLayers: i < 3 ? [0, 2] : [1, 3], memory: { weights: 10, total: 20 },
    }));
    writeFileSync(join(dir, 'metrics.jsonl'), `${steps.map((s) => JSON.stringify(s)).join('\n')}\n{"step": 7, "lo`);
    writeFileSync(join(dir, 'eval.jsonl'), `${[0, 3, 6].map((s) => JSON.stringify({ step: s, loss: 3.1 - 0.1 * s, perplexity: 1, tokens: 9 })).join('\n')}\n`);
    const path = await writeRunReport(dir, 'a run');
    const html = readFileSync(path, 'utf8');
    expect(html).toContain('<title>a run</title>');
    expect(html).toContain('6 steps logged; last step 6: train loss 2.5000; best eval loss 2.5000.');
    expect(marks(html, 'loss', 'line mark')).toBe(2);
    expect(marks(html, 'loss', 'point')).toBe(6 + 3); // points on both lines (few steps)
    for (const id of ['lr', 'grad-norm', 'tokens-per-sec']) {
      expect(marks(html, id, 'line mark')).toBe(1);
      expect(marks(html, id, 'point')).toBe(6);
    }
    expect(marks(html, 'active-layers', 'square')).toBe(12);
    expect(html).toContain('aria-label="optimizer step: 4; block: 3"');
    expect(html).not.toMatch(/<script\b/i);
  });

  it('says so when no step was logged, and leaves out active blocks for other methods', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lisa-run-report-'));
    await writeRunReport(dir);
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toContain('No training step was logged yet');
    writeFileSync(join(dir, 'metrics.jsonl'), `${JSON.stringify({ step: 1, loss: 2, lr: 1, gradNorm: 1, tokensPerSec: 1, memory: {} })}\n`);
    const html = readFileSync(await writeRunReport(dir), 'utf8');
    expect(html).not.toContain('id="active-layers"');
    expect(marks(html, 'loss', 'line mark')).toBe(1);
  });

  it('is written by lisa train', () => {
    const root = mkdtempSync(join(tmpdir(), 'lisa-run-report-'));
    const rows = Array.from({ length: 8 }, (_, i) => JSON.stringify({ input_ids: Array.from({ length: 9 }, (_, j) => (i * 7 + j * 3) % 32) }));
    writeFileSync(join(root, 'data.jsonl'), `${rows.join('\n')}\n`);
    const config = {
      model: { init: { architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: 32, hidden_size: 8, intermediate_size: 16,
        num_hidden_layers: 2, num_attention_heads: 2, max_position_embeddings: 16 } },
      data: { path: join(root, 'data.jsonl'), format: 'pretokenized', maxLength: 9, evalSplit: 0 },
      method: { kind: 'lisa', gamma: 1, period: 1 }, train: { steps: 3, batchSize: 2 }, out: join(root, 'out'),
    };
    writeFileSync(join(root, 'c.json'), JSON.stringify(config));
    const out = execFileSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/train/run-cli.ts'), 'train', join(root, 'c.json')],
      { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, CI: 'true' } });
    expect(out).toContain(`report: ${join(root, 'out', 'report.html')}`);
    const html = readFileSync(join(root, 'out', 'report.html'), 'utf8');
    expect(marks(html, 'active-layers', 'square')).toBe(3);
    expect(existsSync(join(root, 'out', 'final', 'model.safetensors'))).toBe(true);
  }, 60_000);
});
