// `lisa generate --chat`: the prompt is the chat template's rendering (checked against text written out here by hand)
// with the system prompt and earlier turns; one message per stdin line from a pipe, interactive turns in a real
// terminal (tmux), a single --prompt turn; --system without --chat is an error.
import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createModel, initWeights, loadModel, parseConfig, saveModel } from '../../src/models/index.js';
import { generate } from '../../src/models/generate.js';
import { charTokenizerFiles } from '../../src/data/synthetic.js';
import { loadTokenizer, tokenizerFromFiles, writeTokenizerFiles } from '../../src/data/tokenizer.js';
import { Rng } from '../../src/util/rng.js';
import { runCli, tempDirs } from '../cli-helpers.js';
import { repoRoot } from '../helpers.js';

const tmp = tempDirs('lisa-cli-chat');
const TEMPLATE = "{% for m in messages %}{{ m['role'] + ': ' + m['content'] + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ 'assistant: ' }}{% endif %}";
const CHARS = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:?!\n'];
let dir = '';

beforeAll(() => {
  dir = join(tmp(), 'model');
  const files = charTokenizerFiles(CHARS);
  files.tokenizerConfig = { ...files.tokenizerConfig, chat_template: TEMPLATE };
  const V = tokenizerFromFiles(files).vocabSize;
  const model = createModel(parseConfig({
    model_type: 'llama', vocab_size: V, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4,
    max_position_embeddings: 256, bos_token_id: 1, eos_token_id: 2,
  }));
  initWeights(model, new Rng(11), 0.6);
  saveModel(dir, model);
  model.dispose();
  writeTokenizerFiles(dir, files);
});

/** The replies of a greedy chat, computed from the conversation text written out by hand. */
function referenceReplies(system: string | undefined, users: string[], maxNew: number): string[] {
  const tok = loadTokenizer(dir);
  const { model } = loadModel(dir);
  let history = system === undefined ? '' : `system: ${system}\n`;
  const replies: string[] = [];
  for (const u of users) {
    history += `user: ${u}\n`;
    const ids = [tok.bosId!, ...tok.encode(`${history}assistant: `, { addSpecialTokens: false })];
    const out = generate(model, ids, { maxNewTokens: maxNew, temperature: 0, eosIds: [tok.eosId!] }).tokens;
    const reply = tok.decode(out, { skipSpecialTokens: true });
    replies.push(reply);
    history += `assistant: ${reply.trim()}\n`;
  }
  model.dispose();
  return replies;
}

const cli = ['--import', 'tsx', join(repoRoot, 'test/train/run-cli.ts')];

describe('lisa generate --chat', () => {
  it('reads one user message per line from a pipe, keeping the system prompt and earlier turns', () => {
    const users = ['hello there', 'what is 2 and 3?', 'thanks'];
    const r = spawnSync(process.execPath, [...cli, 'generate', '--model', dir, '--chat', '--system', 'You are brief.', '--temperature', '0', '--max-new-tokens', '12'],
      { cwd: repoRoot, input: `${users.join('\n')}\n`, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const replies = referenceReplies('You are brief.', users, 12);
    expect(new Set(replies).size).toBe(3); // each reply depends on the conversation so far
    expect(r.stdout).toBe(replies.map((x) => `${x}\n`).join(''));
  }, 60_000);

  it('drops the oldest turns (keeping the system prompt) when the conversation outgrows the context', () => {
    const long = (c: string) => `${c} ${'word '.repeat(14)}`.trim(); // 3 turns of these (~320 tokens) exceed the context of 256, 2 fit
    const users = [long('first'), long('second'), long('third')];
    const r = spawnSync(process.execPath, [...cli, 'generate', '--model', dir, '--chat', '--system', 'S.', '--temperature', '0', '--max-new-tokens', '8'],
      { cwd: repoRoot, input: `${users.join('\n')}\n`, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const tok = loadTokenizer(dir);
    const { model } = loadModel(dir);
    const reply = (history: string) => {
      const ids = [tok.bosId!, ...tok.encode(`${history}assistant: `, { addSpecialTokens: false })];
      expect(ids.length).toBeLessThanOrEqual(256 - 8);
      return tok.decode(generate(model, ids, { maxNewTokens: 8, temperature: 0, eosIds: [tok.eosId!] }).tokens, { skipSpecialTokens: true });
    };
    const r1 = reply(`system: S.\nuser: ${users[0]}\n`);
    const r2 = reply(`system: S.\nuser: ${users[0]}\nassistant: ${r1.trim()}\nuser: ${users[1]}\n`);
    // The third turn would not fit with the first: it goes, the system prompt stays.
    expect(tok.encode(`system: S.\nuser: ${users[0]}\nassistant: ${r1.trim()}\nuser: ${users[1]}\nassistant: ${r2.trim()}\nuser: ${users[2]}\nassistant: `).length).toBeGreaterThan(256 - 8);
    const r3 = reply(`system: S.\nuser: ${users[1]}\nassistant: ${r2.trim()}\nuser: ${users[2]}\n`);
    expect(r.stdout).toBe(`${r1}\n${r2}\n${r3}\n`);
    model.dispose();
  }, 60_000);

  it('--prompt answers one message; --system needs --chat', async () => {
    const r = await runCli(['generate', '--model', dir, '--chat', '--prompt', 'hi', '--temperature', '0', '--max-new-tokens', '10']);
    expect(r.code).toBe(0);
    expect(r.out).toBe(`${referenceReplies(undefined, ['hi'], 10)[0]}\n`);
    const bad = await runCli(['generate', '--model', dir, '--system', 'x', '--prompt', 'hi']);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('--system needs --chat');
  });

  const haveTmux = spawnSync('tmux', ['-V']).status === 0;
  if (!haveTmux && process.env.CI === 'true') throw new Error('tmux is required under CI=true (apt-get install tmux)');
  it.skipIf(!haveTmux)('takes interactive turns in a terminal (tmux)', async () => {
    const sock = `lisa-chat-${process.pid}`;
    const tmux = (...a: string[]) => execFileSync('tmux', ['-L', sock, ...a], { encoding: 'utf8' });
    const screen = () => tmux('capture-pane', '-p', '-J', '-t', 'chat', '-S', '-100');
    const waitFor = async (test: (s: string) => boolean, ms: number) => {
      for (const t0 = Date.now(); Date.now() - t0 < ms; await new Promise((s) => setTimeout(s, 100))) if (test(screen())) return;
      throw new Error(`timed out; the terminal shows:\n${screen()}`);
    };
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'CI'));
    execFileSync('tmux', ['-L', sock, 'new-session', '-d', '-s', 'chat', '-x', '200', '-y', '50', '-c', repoRoot, 'bash', '--norc'], { env });
    const users = ['hello there', 'and again'];
    const replies = referenceReplies('Be kind.', users, 12);
    const flat = (s: string) => s.replace(/\s+/g, ' ').trim();
    expect(replies.every((x) => flat(x).length >= 3)).toBe(true); // replies to look for on the screen
    try {
      tmux('send-keys', '-t', 'chat', `node ${cli.join(' ')} generate --model ${dir} --chat --system 'Be kind.' --temperature 0 --max-new-tokens 12`, 'Enter');
      await waitFor((s) => /\n> $/.test(s.trimEnd() + ' ') || /^> $/m.test(s), 60_000); // the first prompt
      tmux('send-keys', '-t', 'chat', users[0]!, 'Enter');
      await waitFor((s) => (s.match(/^> /gm) ?? []).length >= 2, 30_000);
      tmux('send-keys', '-t', 'chat', users[1]!, 'Enter');
      await waitFor((s) => (s.match(/^> /gm) ?? []).length >= 3, 30_000);
      tmux('send-keys', '-t', 'chat', 'C-d');
      tmux('send-keys', '-t', 'chat', 'echo EXIT=$?', 'Enter');
      await waitFor((s) => /EXIT=\d+/.test(s), 20_000);
      const text = screen();
      expect(text).toContain('EXIT=0');
      expect(text).toContain('its chat template');
      const after = (u: string) => flat(text.slice(text.indexOf(`> ${u}`) + 2 + u.length));
      expect(after(users[0]!).startsWith(flat(replies[0]!))).toBe(true);
      expect(after(users[1]!).startsWith(flat(replies[1]!))).toBe(true);
    } finally {
      spawnSync('tmux', ['-L', sock, 'kill-server']);
    }
  }, 120_000);
});
