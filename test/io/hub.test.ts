// Tests for Hub downloads against a local HTTP server: redirects, Range resume, auth, 404s, no network.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { resolveModel } from '../../src/io/hub.js';
import { HubError } from '../../src/io/errors.js';
import { loadAllTensors, writeHfFolder } from '../../src/io/hf-folder.js';
import { rmTemp, rng, tempDir } from './fixtures.js';

const COMMIT = 'a'.repeat(40);
const TOKEN = 'hf_testtoken123';
const root = tempDir('lisa-hub-');
const repos = new Map<string, string>(); // "org/name" -> fixture folder
const log: { path: string; range?: string; auth?: string; status: number }[] = [];
const behaviour = {
  cutAfter: new Map<string, number>(), // cdn path -> bytes to send before dropping the connection (once)
  ignoreRange: false,
  absoluteRedirect: false,
  requireToken: new Set<string>(),
  badEtag: false,
};
let server: Server;
let cdnServer: Server; // a second origin, like the Hub's CDN
let base = '';
let cdnBase = '';

function serveFile(req: IncomingMessage, res: ServerResponse, file: string, path: string): number {
  const buf = readFileSync(file);
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  const cut = behaviour.cutAfter.get(path);
  if (range !== null && !behaviour.ignoreRange) {
    const start = Number(range[1]);
    if (start >= buf.length) {
      res.writeHead(416, { 'content-range': `bytes */${buf.length}` }).end();
      return 416;
    }
    res.writeHead(206, { 'content-length': buf.length - start, 'content-range': `bytes ${start}-${buf.length - 1}/${buf.length}` });
    res.end(buf.subarray(start));
    return 206;
  }
  res.writeHead(200, { 'content-length': buf.length });
  if (cut !== undefined) {
    behaviour.cutAfter.delete(path);
    res.write(buf.subarray(0, cut), () => res.destroy());
    return 200;
  }
  res.end(buf);
  return 200;
}

function handler(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', base);
  const entry: (typeof log)[number] = { path: url.pathname, status: 0 };
  if (req.headers.range !== undefined) entry.range = req.headers.range;
  if (req.headers.authorization !== undefined) entry.auth = req.headers.authorization;
  log.push(entry);
  const cdn = /^\/cdn\/([^/]+\/[^/]+)\/(.+)$/.exec(url.pathname);
  if (cdn !== null) {
    entry.status = serveFile(req, res, join(repos.get(cdn[1]!)!, cdn[2]!), url.pathname);
    return;
  }
  const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
  const dir = m === null ? undefined : repos.get(m[1]!);
  if (m === null || dir === undefined) {
    entry.status = 404;
    res.writeHead(404).end('Repository not found');
    return;
  }
  if (behaviour.requireToken.has(m[1]!) && req.headers.authorization !== `Bearer ${TOKEN}`) {
    entry.status = 401;
    res.writeHead(401).end('Invalid credentials');
    return;
  }
  const file = join(dir, m[3]!);
  if (!existsSync(file)) {
    entry.status = 404;
    res.writeHead(404, { 'x-repo-commit': COMMIT }).end('Entry not found');
    return;
  }
  if (file.endsWith('.safetensors')) {
    const sha = createHash('sha256').update(readFileSync(file)).digest('hex');
    const loc = `/cdn/${m[1]}/${m[3]}`;
    entry.status = 302;
    const etag = behaviour.badEtag ? 'f'.repeat(64) : sha;
    res.writeHead(302, { location: behaviour.absoluteRedirect ? `${cdnBase}${loc}` : loc, 'x-repo-commit': COMMIT, 'x-linked-etag': `"${etag}"` }).end();
    return;
  }
  res.setHeader('x-repo-commit', COMMIT);
  entry.status = serveFile(req, res, file, url.pathname);
}

function fixtureRepo(id: string, opts: { shardBytes?: number; floats?: number } = {}): string {
  const dir = join(root, 'fixtures', id.replace('/', '__'));
  mkdirSync(dir, { recursive: true });
  const r = rng(99);
  const data = new Float32Array(opts.floats ?? 50_000).map(() => r() - 0.5);
  writeHfFolder(dir, {
    config: { model_type: 'llama', hidden_size: 8 },
    tensors: [
      { name: 'a.weight', shape: [data.length / 2], data: data.subarray(0, data.length / 2) },
      { name: 'b.weight', shape: [data.length / 2], data: data.subarray(data.length / 2) },
    ],
    ...(opts.shardBytes === undefined ? {} : { maxShardSize: opts.shardBytes }),
  });
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify({ model: { type: 'BPE' } }));
  writeFileSync(join(dir, 'tokenizer_config.json'), '{}');
  repos.set(id, dir);
  return dir;
}

const env = (home: string, token?: string): Record<string, string> => ({
  HF_ENDPOINT: base, HF_HOME: home, ...(token === undefined ? {} : { HF_TOKEN: token }),
});

beforeAll(async () => {
  server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cdnServer = createServer(handler);
  await new Promise<void>((r) => cdnServer.listen(0, '127.0.0.1', r));
  cdnBase = `http://127.0.0.1:${(cdnServer.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  await new Promise((r) => cdnServer.close(r));
  rmTemp(root);
});

describe('resolveModel', () => {
  it('returns an existing local folder as is', async () => {
    const d = fixtureRepo('local/folder');
    expect(await resolveModel(d)).toBe(d);
  });

  it('downloads into the HF cache layout, follows the CDN redirect, resumes a cut download, tolerates 404s', async () => {
    const src = fixtureRepo('org/tiny');
    const home = join(root, 'home1');
    behaviour.cutAfter.set('/cdn/org/tiny/model.safetensors', 70_000);
    log.length = 0;
    const progress: number[] = [];
    const dir = await resolveModel('org/tiny', { env: env(home, TOKEN), progress: false, onProgress: (p) => progress.push(p.downloaded) });
    expect(dir).toBe(join(home, 'hub', 'models--org--tiny', 'snapshots', COMMIT));
    expect(readFileSync(join(home, 'hub', 'models--org--tiny', 'refs', 'main'), 'utf8')).toBe(COMMIT);
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors']) {
      expect(readFileSync(join(dir, f)).equals(readFileSync(join(src, f)))).toBe(true);
    }
    expect(existsSync(join(dir, 'generation_config.json'))).toBe(false);
    expect(existsSync(join(dir, 'model.safetensors.incomplete'))).toBe(false);
    // 404s for optional files were asked for and tolerated
    expect(log.some((l) => l.path.endsWith('/generation_config.json') && l.status === 404)).toBe(true);
    expect(log.some((l) => l.path.endsWith('/special_tokens_map.json') && l.status === 404)).toBe(true);
    // the token went to the Hub, and the interrupted transfer resumed with a Range request
    const resolves = log.filter((l) => l.path.includes('/resolve/'));
    expect(resolves.every((l) => l.auth === `Bearer ${TOKEN}`)).toBe(true);
    const cdn = log.filter((l) => l.path === '/cdn/org/tiny/model.safetensors');
    expect(cdn.length).toBe(2);
    expect(cdn[0]!.range).toBeUndefined();
    expect(cdn[1]!.range).toBe('bytes=70000-'); // every byte received before the cut was kept
    expect(cdn[1]!.status).toBe(206);
    expect(progress.length).toBeGreaterThan(0);
    expect(loadAllTensors(dir).get('a.weight')!.length).toBe(25_000);

    // A second call is served from the cache with no request.
    log.length = 0;
    expect(await resolveModel('org/tiny', { env: env(home), progress: false })).toBe(dir);
    expect(log.length).toBe(0);
  });

  it('resumes a partial .incomplete left by an earlier process (and copes with a server ignoring Range)', async () => {
    const src = fixtureRepo('org/partial');
    const full = readFileSync(join(src, 'model.safetensors'));
    for (const ignoreRange of [false, true]) {
      const home = join(root, `home-partial-${ignoreRange}`);
      const snap = join(home, 'hub', 'models--org--partial', 'snapshots', COMMIT);
      mkdirSync(snap, { recursive: true });
      writeFileSync(join(snap, 'model.safetensors.incomplete'), full.subarray(0, 12_345));
      behaviour.ignoreRange = ignoreRange;
      log.length = 0;
      try {
        const dir = await resolveModel('org/partial', { env: env(home), progress: false });
        expect(readFileSync(join(dir, 'model.safetensors')).equals(full)).toBe(true);
      } finally {
        behaviour.ignoreRange = false;
      }
      const cdn = log.filter((l) => l.path === '/cdn/org/partial/model.safetensors');
      expect(cdn.map((l) => l.range)).toEqual(['bytes=12345-']);
      expect(cdn[0]!.status).toBe(ignoreRange ? 200 : 206);
    }
  });

  it('downloads a sharded repo (index + shards) via an absolute redirect to another origin, without the token there', async () => {
    const src = fixtureRepo('org/sharded', { shardBytes: 100_000 });
    behaviour.absoluteRedirect = true;
    log.length = 0;
    try {
      const dir = await resolveModel('org/sharded', { env: env(join(root, 'home-sharded'), TOKEN), progress: false });
      const cdn = log.filter((l) => l.path.startsWith('/cdn/'));
      expect(cdn.length).toBeGreaterThanOrEqual(2);
      expect(cdn.every((l) => l.auth === undefined)).toBe(true);
      expect(log.filter((l) => l.path.includes('/resolve/')).every((l) => l.auth === `Bearer ${TOKEN}`)).toBe(true);
      expect(existsSync(join(dir, 'model.safetensors'))).toBe(false);
      const index = JSON.parse(readFileSync(join(dir, 'model.safetensors.index.json'), 'utf8'));
      for (const shard of new Set(Object.values(index.weight_map) as string[])) {
        expect(readFileSync(join(dir, shard)).equals(readFileSync(join(src, shard)))).toBe(true);
      }
      expect(loadAllTensors(dir).size).toBe(2);
    } finally {
      behaviour.absoluteRedirect = false;
    }
  });

  it('401 without a token says to set HF_TOKEN; with the token it works', async () => {
    fixtureRepo('org/gated');
    behaviour.requireToken.add('org/gated');
    const home = join(root, 'home-gated');
    const err = await resolveModel('org/gated', { env: env(home), progress: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HubError);
    expect((err as HubError).kind).toBe('auth');
    expect((err as Error).message).toContain('HF_TOKEN');
    expect((err as Error).message).toContain('org/gated');
    expect((err as Error).message).toContain(`${base}/org/gated/resolve/main/config.json`);
    const bad = await resolveModel('org/gated', { env: env(home, 'wrong'), progress: false }).catch((e: unknown) => e);
    expect((bad as Error).message).toMatch(/HF_TOKEN was refused/);
    expect(existsSync(await resolveModel('org/gated', { env: env(home, TOKEN), progress: false }))).toBe(true);
  });

  it('a missing repo is "not found" with the URL', async () => {
    const err = await resolveModel('org/missing', { env: env(join(root, 'home-missing')), progress: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HubError);
    expect((err as HubError).kind).toBe('not_found');
    expect((err as Error).message).toContain('not found');
    expect((err as Error).message).toContain(`${base}/org/missing/resolve/main/config.json`);
  });

  it('an unreachable endpoint fails at once with a clear message', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const t0 = Date.now();
    const err = await resolveModel('org/tiny', { env: { HF_ENDPOINT: `http://127.0.0.1:${port}`, HF_HOME: join(root, 'home-offline') }, progress: false }).catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(err).toBeInstanceOf(HubError);
    expect((err as HubError).kind).toBe('network');
    const msg = (err as Error).message;
    expect(msg).toContain('org/tiny');
    expect(msg).toContain(`http://127.0.0.1:${port}/org/tiny/resolve/main/config.json`);
    expect(msg).toContain('network unreachable');
    expect(msg).toContain('ECONNREFUSED');
  });

  it('a server that never answers times out with a network error', async () => {
    const silent = createServer(() => { /* never respond */ });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    try {
      const t0 = Date.now();
      const err = await resolveModel('org/tiny', { env: { HF_ENDPOINT: url, HF_HOME: join(root, 'home-silent') }, progress: false, timeoutMs: 300 }).catch((e: unknown) => e);
      expect(Date.now() - t0).toBeLessThan(3000);
      expect((err as HubError).kind).toBe('network');
      expect((err as Error).message).toContain('ETIMEDOUT');
    } finally {
      silent.closeAllConnections();
      await new Promise((r) => silent.close(r));
    }
  });

  it('a download whose sha256 does not match x-linked-etag is rejected and discarded', async () => {
    fixtureRepo('org/corrupt');
    behaviour.badEtag = true;
    const home = join(root, 'home-corrupt');
    try {
      const err = await resolveModel('org/corrupt', { env: env(home), progress: false }).catch((e: unknown) => e);
      expect((err as HubError).kind).toBe('integrity');
      expect((err as Error).message).toContain('sha256');
      const snap = join(home, 'hub', 'models--org--corrupt', 'snapshots', COMMIT);
      expect(existsSync(join(snap, 'model.safetensors'))).toBe(false);
      expect(existsSync(join(snap, 'model.safetensors.incomplete'))).toBe(false);
    } finally {
      behaviour.badEtag = false;
    }
  });

  it('offline mode without a cache, and invalid ids, are clear errors', async () => {
    const off = await resolveModel('org/nothing', { env: { HF_HOME: join(root, 'h'), HF_HUB_OFFLINE: '1' } }).catch((e: unknown) => e);
    expect((off as HubError).kind).toBe('offline');
    const bad = await resolveModel('./no/such/dir/here', {}).catch((e: unknown) => e);
    expect((bad as HubError).kind).toBe('invalid_id');
    expect((bad as Error).message).toContain('./no/such/dir/here');
  });
});
