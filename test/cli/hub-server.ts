// A local HTTP server standing in for the Hugging Face Hub (HF_ENDPOINT): serves model folders at
// /{org/name}/resolve/{revision}/{file} with an x-repo-commit header, and logs every request path.
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface FakeHub {
  /** The server's base URL, for HF_ENDPOINT. */
  url: string;
  /** Request paths in arrival order. */
  log: string[];
  /** Serves `dir` as the repo `id` (org/name). */
  add(id: string, dir: string): void;
  close(): Promise<void>;
}

const COMMIT = 'c'.repeat(40);

export async function startFakeHub(): Promise<FakeHub> {
  const repos = new Map<string, string>();
  const log: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    log.push(path);
    const m = /^\/([^/]+\/[^/]+)\/resolve\/[^/]+\/(.+)$/.exec(path);
    const dir = m ? repos.get(m[1]!) : undefined;
    if (!m || dir === undefined) return void res.writeHead(404).end('Repository not found');
    const file = join(dir, m[2]!);
    if (!existsSync(file)) return void res.writeHead(404, { 'x-repo-commit': COMMIT }).end('Entry not found');
    const body = readFileSync(file);
    res.writeHead(200, { 'content-length': body.length, 'x-repo-commit': COMMIT }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    log,
    add: (id, dir) => void repos.set(id, dir),
    close: () => new Promise((r) => server.close(() => r())),
  };
}
