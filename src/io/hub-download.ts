// One resumable HTTP(S) download: manual redirects, Range resume of `<file>.incomplete`, retries, sha256 check.

import { createHash } from 'node:crypto';
import { createReadStream, fsyncSync, openSync, closeSync, renameSync, rmSync, statSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { writeFullySync } from './atomic.js';

/** Connection errors that mean "no network / wrong endpoint": fail at once, never retry. */
export const UNREACHABLE_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ENETUNREACH', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETDOWN',
  'UND_ERR_CONNECT_TIMEOUT', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID', 'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN',
]);
const MAX_REDIRECTS = 10;

export interface DownloadProgress {
  readonly file: string;
  readonly downloaded: number;
  /** Total bytes, when the server said. */
  readonly total?: number;
}

export interface FetchOptions {
  readonly headers: Readonly<Record<string, string>>;
  /** Connect and idle timeout in ms. */
  readonly timeoutMs: number;
}

export interface HubResponse {
  readonly res: IncomingMessage;
  /** Final URL after redirects. */
  readonly url: string;
  /** Headers of the first response (the Hub puts x-repo-commit / x-linked-etag on the redirect itself). */
  readonly firstHeaders: IncomingHttpHeaders;
}

/** A failure talking to the server; `phase` says whether any response had arrived. */
export class TransportError extends Error {
  override name = 'TransportError';
  constructor(readonly url: string, readonly code: string, readonly phase: 'connect' | 'body' | 'integrity', cause: unknown) {
    super(`${code} for ${url}`, { cause });
  }
}

function errorCode(e: unknown): string {
  const err = e as { code?: unknown; cause?: { code?: unknown }; message?: unknown };
  if (typeof err?.code === 'string') return err.code;
  if (typeof err?.cause?.code === 'string') return err.cause.code;
  return typeof err?.message === 'string' ? err.message : 'unknown error';
}

function once(url: URL, headers: Record<string, string>, timeoutMs: number): Promise<IncomingMessage> {
  const request = url.protocol === 'https:' ? httpsRequest : url.protocol === 'http:' ? httpRequest : undefined;
  if (request === undefined) return Promise.reject(new TransportError(url.href, `unsupported protocol ${url.protocol}`, 'connect', undefined));
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers: { 'user-agent': 'lisa-tune', ...headers } }, (res) => {
      res.on('error', () => { /* surfaced by the consumer's pipeline */ });
      resolve(res);
    });
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error(`no data for ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', (e) => reject(new TransportError(url.href, errorCode(e), 'connect', e)));
    req.end();
  });
}

/**
 * GET `url`, following redirects (relative or absolute Location). Authorization is dropped when a redirect
 * leaves the original origin, as browsers do (the Hub's CDN URLs are pre-signed).
 */
export async function hubGet(url: string, opts: FetchOptions): Promise<HubResponse> {
  let current = new URL(url);
  const origin = current.origin;
  let firstHeaders: IncomingHttpHeaders | undefined;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const headers: Record<string, string> = { ...opts.headers };
    if (current.origin !== origin) delete headers['authorization'];
    const res = await once(current, headers, opts.timeoutMs);
    firstHeaders ??= res.headers;
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && status !== 304 && res.headers.location !== undefined) {
      res.resume();
      current = new URL(res.headers.location, current);
      continue;
    }
    return { res, url: current.href, firstHeaders };
  }
  throw new TransportError(url, `more than ${MAX_REDIRECTS} redirects`, 'connect', undefined);
}

/** Read a whole (small) response body. */
export async function readBody(res: IncomingMessage, url: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  try {
    for await (const c of res) chunks.push(c as Buffer);
  } catch (e) {
    throw new TransportError(url, errorCode(e), 'body', e);
  }
  return Buffer.concat(chunks);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export type DownloadOutcome =
  | { readonly kind: 'done'; readonly bytes: number; readonly firstHeaders: IncomingHttpHeaders; readonly resumed: boolean }
  | { readonly kind: 'status'; readonly status: number; readonly url: string; readonly body: string };

export interface DownloadFileOptions extends FetchOptions {
  /** Retries after a mid-transfer failure (each resumes where the last stopped). */
  readonly maxRetries: number;
  readonly onProgress?: (p: DownloadProgress) => void;
  /** Name used in progress reports. */
  readonly label: string;
}

/**
 * Download `url` to `dest` through `dest + ".incomplete"`, resuming an existing partial file with
 * `Range: bytes=N-` (a 206 appends, a 200 restarts). A non-2xx answer is returned, not thrown; transport
 * failures throw TransportError (phase "connect" ones at once, "body" ones after `maxRetries`).
 */
export async function downloadFile(url: string, dest: string, opts: DownloadFileOptions): Promise<DownloadOutcome> {
  const tmp = `${dest}.incomplete`;
  let resumed = false;
  for (let attempt = 0; ; attempt++) {
    const have = sizeOf(tmp);
    const headers: Record<string, string> = { ...opts.headers };
    if (have > 0) headers['range'] = `bytes=${have}-`;
    let r: HubResponse;
    try {
      r = await hubGet(url, { headers, timeoutMs: opts.timeoutMs });
    } catch (e) {
      if (e instanceof TransportError && !UNREACHABLE_CODES.has(e.code) && attempt < opts.maxRetries) continue;
      throw e;
    }
    const { res } = r;
    const status = res.statusCode ?? 0;
    const contentRange = /^bytes (?:(\d+)-(\d+)|\*)\/(\d+|\*)$/.exec(String(res.headers['content-range'] ?? ''));
    if (status === 416 && have > 0) {
      res.resume();
      const total = contentRange?.[3] === undefined || contentRange[3] === '*' ? undefined : Number(contentRange[3]);
      if (total === have) return finish(tmp, dest, have, r.firstHeaders, true, opts);
      rmSync(tmp, { force: true }); // partial file does not match the remote one: start over
      continue;
    }
    if (status !== 200 && status !== 206) {
      const body = (await readBody(res, r.url).catch(() => Buffer.alloc(0))).toString('utf8').slice(0, 300);
      return { kind: 'status', status, url: r.url, body };
    }
    let start = 0;
    let total: number | undefined;
    if (status === 206) {
      start = contentRange?.[1] === undefined ? -1 : Number(contentRange[1]);
      total = contentRange?.[3] === undefined || contentRange[3] === '*' ? undefined : Number(contentRange[3]);
      if (start !== have) { // a range we did not ask for: restart cleanly
        res.resume();
        rmSync(tmp, { force: true });
        if (attempt < opts.maxRetries) continue;
        throw new TransportError(r.url, `server answered range ${String(res.headers['content-range'])} to bytes=${have}-`, 'body', undefined);
      }
      resumed = true;
    } else {
      const len = res.headers['content-length'];
      total = len === undefined ? undefined : Number(len);
    }
    let downloaded = start;
    const report = (): void => opts.onProgress?.({ file: opts.label, downloaded, ...(total === undefined ? {} : { total }) });
    report();
    try {
      await receive(res, tmp, status === 206, (n) => {
        downloaded += n;
        report();
      });
    } catch (e) {
      if (!(e instanceof TransportError)) throw e; // a local write error (disk full...): not worth a retry
      if (attempt < opts.maxRetries) {
        await sleep(100 * (attempt + 1));
        continue;
      }
      throw new TransportError(r.url, e.code, 'body', e);
    }
    const got = sizeOf(tmp);
    if (total !== undefined && got < total) {
      if (attempt < opts.maxRetries) continue; // connection closed early without an error: resume
      throw new TransportError(r.url, `connection closed after ${got} of ${total} bytes`, 'body', undefined);
    }
    return finish(tmp, dest, got, r.firstHeaders, resumed, opts);
  }
}

/**
 * Write the body to `tmp` chunk by chunk with synchronous writes, so every byte received is in the file
 * when the connection breaks (the resume then starts exactly there).
 */
function receive(res: IncomingMessage, tmp: string, append: boolean, onBytes: (n: number) => void): Promise<void> {
  const fd = openSync(tmp, append ? 'a' : 'w');
  return new Promise<void>((resolve, reject) => {
    let failed = false;
    const fail = (e: unknown): void => {
      if (!failed) reject(e);
      failed = true;
    };
    res.on('data', (chunk: Buffer) => {
      if (failed) return;
      try {
        writeFullySync(fd, chunk);
      } catch (e) {
        fail(e);
        res.destroy();
        return;
      }
      onBytes(chunk.length);
    });
    res.on('end', () => {
      if (!failed) resolve();
      failed = true;
    });
    res.on('error', (e) => fail(new TransportError(tmp, errorCode(e), 'body', e)));
    res.on('close', () => {
      if (!res.complete) fail(new TransportError(tmp, 'ECONNRESET (connection closed mid-transfer)', 'body', undefined));
    });
  }).finally(() => closeSync(fd));
}

async function finish(tmp: string, dest: string, bytes: number, firstHeaders: IncomingHttpHeaders, resumed: boolean, opts: DownloadFileOptions): Promise<DownloadOutcome> {
  // LFS files carry their sha256 as x-linked-etag; check it so a bad resume can never go unnoticed.
  const etag = String(firstHeaders['x-linked-etag'] ?? '').replace(/^W\//, '').replace(/"/g, '');
  if (/^[0-9a-f]{64}$/.test(etag)) {
    const actual = await sha256File(tmp);
    if (actual !== etag) {
      rmSync(tmp, { force: true });
      throw new TransportError(dest, `sha256 mismatch (expected ${etag}, got ${actual})`, 'integrity', undefined);
    }
  }
  fsyncPath(tmp);
  renameSync(tmp, dest);
  opts.onProgress?.({ file: opts.label, downloaded: bytes, total: bytes });
  return { kind: 'done', bytes, firstHeaders, resumed };
}
