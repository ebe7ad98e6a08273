// `--model org/name` in eval, generate, memory and export: each resolves the hub id through resolveModel against a
// local server standing in for the Hub (HF_ENDPOINT) and prints exactly what the same command prints on the
// local folder; `lisa memory` downloads config.json alone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createModel, initWeights, parseConfig, saveModel } from '../../src/models/index.js';
import { tokenizerFromFiles, writeTokenizerFiles } from '../../src/data/tokenizer.js';
import { charTokenizerFiles } from '../../src/data/synthetic.js';
import { LoraFineTune } from '../../src/finetune/lora.js';
import { saveLoraAdapter } from '../../src/finetune/lora-io.js';
import { Rng } from '../../src/util/rng.js';
import { runCli, tempDirs } from '../cli-helpers.js';
import { startFakeHub, type FakeHub } from './hub-server.js';

const tmp = tempDirs('lisa-cli-hub');
let hub: FakeHub;
let local = '';
let adapter = '';
let rows = '';
const saved = { endpoint: process.env.HF_ENDPOINT, home: process.env.HF_HOME };

beforeAll(async () => {
  const root = tmp();
  local = join(root, 'tiny');
  const files = charTokenizerFiles();
  const V = tokenizerFromFiles(files).vocabSize;
  const model = createModel(parseConfig({
    model_type: 'llama', vocab_size: V, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 2, num_attention_heads: 2,
    num_key_value_heads: 2, max_position_embeddings: 64, bos_token_id: 1, eos_token_id: 2,
  }));
  initWeights(model, new Rng(3), 0.5);
  saveModel(local, model);
  writeTokenizerFiles(local, files);
  adapter = join(root, 'adapter');
  saveLoraAdapter(adapter, new LoraFineTune(model, { rank: 2, alpha: 4, targets: ['q_proj', 'v_proj'], seed: 1 }), 'org/tiny');
  model.dispose();
  const rng = new Rng(5);
  rows = join(root, 'rows.jsonl');
  writeFileSync(rows, Array.from({ length: 4 }, () => JSON.stringify({ input_ids: Array.from({ length: 12 }, () => rng.int(V)) })).join('\n'));
  hub = await startFakeHub();
  hub.add('org/tiny', local);
  process.env.HF_ENDPOINT = hub.url;
  process.env.HF_HOME = join(root, 'hf-home');
});
afterAll(async () => {
  await hub.close();
  for (const [k, v] of [['HF_ENDPOINT', saved.endpoint], ['HF_HOME', saved.home]] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

/** Runs the command with `--model ID` (a repo not fetched before) and with `--model LOCAL`; both must succeed
 *  with the same output. */
async function both(id: string, args: (model: string) => string[], normalize = (s: string) => s): Promise<string> {
  hub.add(id, local);
  hub.log.length = 0;
  const remote = await runCli(args(id));
  expect(remote.err).not.toMatch(/error|does not exist/i);
  expect(remote.code).toBe(0);
  expect(hub.log.length).toBeGreaterThan(0);
  const plain = await runCli(args(local));
  expect(plain.code).toBe(0);
  const [a, b] = [normalize(remote.out), normalize(plain.out)];
  return a === b ? a : `${a}\n!==\n${b}`;
}

describe('hub ids in every command taking --model', () => {
  it('lisa generate', async () => {
    const out = await both('org/gen', (m) => ['generate', '--model', m, '--prompt', '12 + 3', '--temperature', '0', '--max-new-tokens', '8']);
    expect(out).toMatch(/^12 \+ 3[^!]*\n$/);
  });

  it('lisa eval', async () => {
    const out = await both('org/eval', (m) => ['eval', '--model', m, '--data', rows, '--json']);
    const r = JSON.parse(out) as { loss: number; tokens: number };
    expect(r.tokens).toBe(4 * 11);
    expect(r.loss).toBeGreaterThan(0);
  });

  it('lisa memory fetches config.json only', async () => {
    const out = await both('org/mem', (m) => ['memory', '--model', m, '--method', 'lisa', '--gamma', '1', '--json'],
      (s) => s.replace(/"estimateSeconds": [\d.e-]+/g, '"estimateSeconds": 0'));
    expect((JSON.parse(out) as { methods: unknown[] }).methods).toHaveLength(1);
    expect(hub.log).toEqual(['/org/mem/resolve/main/config.json']);
    const cached = join(process.env.HF_HOME!, 'hub', 'models--org--mem', 'snapshots', 'c'.repeat(40));
    expect(readdirSync(cached)).toEqual(['config.json']);
  });

  it('lisa export --merge', async () => {
    const [a, b] = [join(tmp(), 'merged'), join(tmp(), 'merged')];
    const remote = await runCli(['export', '--model', 'org/tiny', '--adapter', adapter, '--merge', '--out', a]);
    expect(remote.err).toBe('');
    expect(remote.code).toBe(0);
    expect((await runCli(['export', '--model', local, '--adapter', adapter, '--merge', '--out', b])).code).toBe(0);
    expect(readdirSync(a).sort()).toEqual(readdirSync(b).sort());
    for (const f of readdirSync(a)) expect(readFileSync(join(a, f)).equals(readFileSync(join(b, f)))).toBe(true);
    expect(readdirSync(a)).toContain('tokenizer.json');
  });

  it('an unknown hub id names the id and the URL', async () => {
    const r = await runCli(['eval', '--model', 'org/missing', '--data', rows]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('org/missing');
    expect(r.err).toContain(hub.url);
  });
});
