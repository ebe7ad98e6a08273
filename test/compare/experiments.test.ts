// The committed experiment configs validate: the two pretraining bases (their stated parameter split exact), the
// comparisons run from them and from stories260K, and the gamma/period ablation.
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { join } from 'node:path';
import { loadConfig } from '../../src/train/config.js';
import { loadCompareConfig } from '../../src/compare/config.js';
import { createModel, parseConfig } from '../../src/models/index.js';
import { meta } from '../../src/backends/index.js';
import { repoRoot } from '../helpers.js';

const dir = (sub: string) => join(repoRoot, 'experiments', sub);

describe('experiment configs', () => {
  it('pretrain a blocks-dominant (E+H ~4%) and an embedding-dominant (E+H > 70%) Llama', () => {
    const share: Record<string, number> = {};
    for (const name of ['blocks-dominant', 'embed-dominant']) {
      const cfg = loadConfig(join(dir('bases'), `${name}.yaml`));
      expect(cfg.method.kind).toBe('full');
      const init = cfg.model as { init: Record<string, unknown>; tokenizer: string };
      expect(init.tokenizer).toMatch(/^\.\.\/shared\/data\//);
      const model = createModel(parseConfig(init.init), { backend: meta });
      const total = model.parameters().reduce((n, p) => n + p.size, 0);
      const eh = model.nonBlockParameters().filter((p) => p.role !== 'finalNorm').reduce((n, p) => n + p.param.size, 0);
      model.dispose();
      share[name] = eh / total;
    }
    expect(share['blocks-dominant']).toBeCloseTo(0.0398, 4);
    expect(share['embed-dominant']).toBeCloseTo(0.7214, 4);
  });

  it('compare from those bases (and the converted stories260K) with the paper\'s four methods over 3 seeds, and the gamma/period ablation', () => {
    const files = readdirSync(dir('compare')).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(5);
    for (const f of files) {
      const plan = loadCompareConfig(join(dir('compare'), f));
      expect(plan.base.ref, f).toMatch(/^runs\/(base-(blocks|embed)-dominant\/final|stories260K)$/);
      if (f.startsWith('ablation-')) {
        // gamma in {2, 4, 8} x K in {T, T/5, T/10}, the default (uniform) sampling, one seed.
        expect(plan.seeds, f).toHaveLength(1);
        const T = (parseYaml(readFileSync(join(dir('compare'), f), 'utf8')) as { train: { steps: number } }).train.steps;
        expect(plan.methods.map((m) => m.method), f).toEqual([2, 4, 8].flatMap((gamma) => [T, T / 5, T / 10]
          .map((period) => ({ kind: 'lisa', gamma, period }))));
        continue;
      }
      expect(plan.seeds, f).toHaveLength(3);
      expect(plan.methods.map((m) => m.name), f).toEqual(['full', 'lora', 'lisa', 'lisa-weighted']);
    }
  });
});
