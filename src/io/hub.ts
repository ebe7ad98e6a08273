// Resolve a model: a local folder, or a Hugging Face repo id downloaded (resumably) into the HF cache layout.

import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { HubError } from './errors.js';
import {
  CONFIG_FILE, GENERATION_CONFIG_FILE, SAFE_WEIGHTS_FILE, SAFE_WEIGHTS_INDEX_FILE, TOKENIZER_FILES, locateWeights,
} from './hf-folder.js';
import { downloadFile, hubGet, readBody, TransportError, type DownloadProgress } from './hub-download.js';
import { writeTextAtomicSync } from './atomic.js';

export type { DownloadProgress } from './hub-download.js';

export interface ResolveModelOptions {
  /** Branch, tag or commit (default "main"). */
  readonly revision?: string;
  /** Hub URL (default HF_ENDPOINT, else https://huggingface.co). */
  readonly endpoint?: string;
  /** Hub cache folder (default HF_HUB_CACHE, else `${HF_HOME or ~/.cache/huggingface}/hub`). */
  readonly cacheDir?: string;
  /** Bearer token (default HF_TOKEN, else HUGGING_FACE_HUB_TOKEN); null sends none. */
  readonly token?: string | null;
  /** Never touch the network (default: HF_HUB_OFFLINE=1). */
  readonly offline?: boolean;
  /** Download again even when the cached snapshot is complete. */
  readonly forceDownload?: boolean;
  /** Show a progress bar on stderr (default: when stderr is a TTY). */
  readonly progress?: boolean;
  readonly onProgress?: (p: DownloadProgress) => void;
  /** Connect / idle timeout in ms (default 30 s). */
  readonly timeoutMs?: number;
  /** Resumed retries after a download breaks midway (default 5). */
  readonly maxRetries?: number;
  /** Further optional files to fetch (404 tolerated). */
  readonly extraFiles?: readonly string[];
  /** Environment to read HF_* variables from (default process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Fetch config.json only (commands that need the architecture, not the weights, such as `lisa memory`). */
  readonly configOnly?: boolean;
}

const REPO_ID_RE = /^(?:[\w.-]+\/)?[\w.-]+$/;
const COMMIT_RE = /^[0-9a-f]{40}$/;

/** Whether `s` is a valid Hub repo id (`org/name` or legacy `name`). */
export function isRepoId(s: string): boolean {
  return REPO_ID_RE.test(s) && !s.includes('--') && !s.includes('..') && !s.startsWith('.') && !s.endsWith('.') && s.length <= 96;
}

/** The hub cache root for an environment. */
export function hubCacheDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  if (env['HF_HUB_CACHE']) return env['HF_HUB_CACHE'];
  return join(env['HF_HOME'] || join(homedir(), '.cache', 'huggingface'), 'hub');
}

/** `<cache>/models--org--name`, as huggingface_hub names it. */
export function repoCacheDir(repoId: string, cacheDir: string): string {
  return join(cacheDir, `models--${repoId.split('/').join('--')}`);
}

/** A cached snapshot is complete when config.json and all weights are there (weights are fetched last). */
function snapshotComplete(dir: string): boolean {
  if (!existsSync(join(dir, CONFIG_FILE))) return false;
  try {
    locateWeights(dir);
    return true;
  } catch {
    return false;
  }
}

/** The cached snapshot for a revision, if its ref is known. */
function cachedSnapshot(repoDir: string, revision: string): string | undefined {
  if (COMMIT_RE.test(revision)) return join(repoDir, 'snapshots', revision);
  const ref = join(repoDir, 'refs', revision);
  if (!existsSync(ref)) return undefined;
  const commit = readFileSync(ref, 'utf8').trim();
  return commit === '' ? undefined : join(repoDir, 'snapshots', commit);
}

class Progress {
  private bar: cliProgress.SingleBar | undefined;
  private file = '';
  constructor(private readonly tty: boolean, private readonly cb?: (p: DownloadProgress) => void) {}
  update = (p: DownloadProgress): void => {
    this.cb?.(p);
    if (!this.tty || p.total === undefined) return;
    if (this.bar === undefined || this.file !== p.file) {
      this.stop();
      this.file = p.file;
      this.bar = new cliProgress.SingleBar({
        format: `${p.file} [{bar}] {percentage}% | {value}/{total} bytes | ETA {eta}s`, stream: process.stderr, hideCursor: true,
      }, cliProgress.Presets.shades_classic);
      this.bar.start(p.total, p.downloaded);
    }
    this.bar.update(p.downloaded);
  };
  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}

/**
 * Return a local folder holding the model: `idOrPath` itself when it is a directory; otherwise download the
 * Hub repo `idOrPath` (config, generation config, tokenizer files, safetensors weights or index + shards)
 * into `<cache>/models--org--name/snapshots/<commit>/` and return that folder. A complete cached snapshot
 * of the revision is reused without network access. Errors are HubError with the model id and URL.
 * This is the one resolver behind every command's `--model` (train, eval, generate, memory, export, ...).
 */
export async function resolveModel(idOrPath: string, opts: ResolveModelOptions = {}): Promise<string> {
  if (existsSync(idOrPath)) {
    if (statSync(idOrPath).isDirectory()) return resolve(idOrPath);
    throw new HubError('invalid_id', idOrPath, `${idOrPath} is a file; expected a model folder (with config.json and safetensors weights) or a Hub repo id like org/name`);
  }
  if (!isRepoId(idOrPath)) {
    throw new HubError('invalid_id', idOrPath, `${idOrPath} is neither an existing folder nor a Hugging Face repo id (org/name)`);
  }
  const env = opts.env ?? process.env;
  const revision = opts.revision ?? 'main';
  const repoDir = repoCacheDir(idOrPath, opts.cacheDir ?? hubCacheDir(env));
  const cached = cachedSnapshot(repoDir, revision);
  const usable = (dir: string) => (opts.configOnly ? existsSync(join(dir, CONFIG_FILE)) : snapshotComplete(dir));
  if (!opts.forceDownload && cached !== undefined && usable(cached)) return cached;
  const offline = opts.offline ?? ['1', 'true', 'yes', 'on'].includes(String(env['HF_HUB_OFFLINE'] ?? '').toLowerCase());
  if (offline) {
    throw new HubError('offline', idOrPath, `${idOrPath} (revision ${revision}) is not in the cache ${repoDir} and offline mode is on (HF_HUB_OFFLINE); download it once with network access or pass a local folder`);
  }
  const endpoint = (opts.endpoint ?? (env['HF_ENDPOINT'] || 'https://huggingface.co')).replace(/\/+$/, '');
  const token = opts.token === null ? undefined : opts.token ?? (env['HF_TOKEN'] || env['HUGGING_FACE_HUB_TOKEN'] || undefined);
  const dl = new RepoDownloader(idOrPath, revision, endpoint, token, repoDir, opts);
  try {
    return await dl.run();
  } finally {
    dl.progress.stop();
  }
}

/** The per-call state of one repo download. */
class RepoDownloader {
  readonly progress: Progress;
  private snapshot = '';
  private readonly headers: Record<string, string>;

  constructor(
    private readonly id: string, private readonly revision: string, private readonly endpoint: string,
    private readonly token: string | undefined, private readonly repoDir: string, private readonly opts: ResolveModelOptions,
  ) {
    this.progress = new Progress(opts.progress ?? process.stderr.isTTY === true, opts.onProgress);
    this.headers = token === undefined ? {} : { authorization: `Bearer ${token}` };
  }

  url(file: string): string {
    const path = file.split('/').map(encodeURIComponent).join('/');
    return `${this.endpoint}/${this.id}/resolve/${encodeURIComponent(this.revision)}/${path}`;
  }

  async run(): Promise<string> {
    await this.fetchConfig();
    if (this.opts.configOnly) return this.snapshot;
    const optional = [GENERATION_CONFIG_FILE, ...TOKENIZER_FILES, ...(this.opts.extraFiles ?? [])];
    const got = new Set<string>();
    for (const f of optional) if (await this.fetch(f, false)) got.add(f);
    if (!got.has('tokenizer.json')) await this.fetch('tokenizer.model', false); // SentencePiece-only repos
    if (!(await this.fetch(SAFE_WEIGHTS_FILE, false))) {
      if (!(await this.fetch(SAFE_WEIGHTS_INDEX_FILE, false))) {
        throw new HubError('not_found', this.id, `${this.id} has neither ${SAFE_WEIGHTS_FILE} nor ${SAFE_WEIGHTS_INDEX_FILE} at revision ${this.revision} (${this.url(SAFE_WEIGHTS_FILE)}); only safetensors weights are supported`, { url: this.url(SAFE_WEIGHTS_FILE), status: 404 });
      }
      for (const shard of this.shardsOf(join(this.snapshot, SAFE_WEIGHTS_INDEX_FILE))) await this.fetch(shard, true);
    }
    return this.snapshot;
  }

  /** config.json decides the snapshot folder: the Hub names the commit in x-repo-commit. */
  private async fetchConfig(): Promise<void> {
    const url = this.url(CONFIG_FILE);
    let body: Buffer;
    let commit: string | undefined;
    try {
      const r = await hubGet(url, { headers: this.headers, timeoutMs: this.opts.timeoutMs ?? 30_000 });
      const status = r.res.statusCode ?? 0;
      if (status !== 200) {
        const text = (await readBody(r.res, r.url).catch(() => Buffer.alloc(0))).toString('utf8');
        throw this.statusError(CONFIG_FILE, status, r.url, text);
      }
      body = await readBody(r.res, r.url);
      const c = r.firstHeaders['x-repo-commit'];
      commit = typeof c === 'string' && COMMIT_RE.test(c) ? c : undefined;
    } catch (e) {
      throw this.wrap(e, url);
    }
    const snapshotName = COMMIT_RE.test(this.revision) ? this.revision : commit ?? this.revision;
    this.snapshot = join(this.repoDir, 'snapshots', snapshotName);
    mkdirSync(this.snapshot, { recursive: true });
    if (!COMMIT_RE.test(this.revision)) {
      const ref = join(this.repoDir, 'refs', this.revision);
      mkdirSync(dirname(ref), { recursive: true });
      writeFileSync(ref, snapshotName);
    }
    writeTextAtomicSync(join(this.snapshot, CONFIG_FILE), body.toString('utf8'));
  }

  /** Download one file into the snapshot. Returns false on 404 of an optional file. */
  private async fetch(file: string, required: boolean): Promise<boolean> {
    const dest = join(this.snapshot, file);
    if (!this.opts.forceDownload && existsSync(dest)) return true;
    mkdirSync(dirname(dest), { recursive: true });
    const url = this.url(file);
    let out;
    try {
      out = await downloadFile(url, dest, {
        headers: this.headers, timeoutMs: this.opts.timeoutMs ?? 30_000, maxRetries: this.opts.maxRetries ?? 5,
        label: file, onProgress: this.progress.update,
      });
    } catch (e) {
      throw this.wrap(e, url);
    }
    if (out.kind === 'done') return true;
    if (out.status === 404 && !required) return false;
    throw this.statusError(file, out.status, out.url, out.body);
  }

  private shardsOf(indexFile: string): string[] {
    let wm: unknown;
    try {
      wm = (JSON.parse(readFileSync(indexFile, 'utf8')) as { weight_map?: unknown }).weight_map;
    } catch (e) {
      throw new HubError('http', this.id, `${indexFile} downloaded from ${this.url(SAFE_WEIGHTS_INDEX_FILE)} is not valid JSON (${(e as Error).message})`);
    }
    if (typeof wm !== 'object' || wm === null) {
      throw new HubError('http', this.id, `${indexFile} downloaded from ${this.url(SAFE_WEIGHTS_INDEX_FILE)} has no "weight_map" object`);
    }
    const shards = [...new Set(Object.values(wm as Record<string, unknown>))];
    for (const s of shards) {
      if (typeof s !== 'string' || s.startsWith('/') || s.split('/').includes('..')) {
        throw new HubError('http', this.id, `${indexFile}: shard name ${JSON.stringify(s)} is not a file inside the repo`);
      }
    }
    return shards as string[];
  }

  private statusError(file: string, status: number, url: string, body: string): HubError {
    const detail = body.trim() === '' ? '' : ` Server said: ${body.trim().slice(0, 200)}`;
    if (status === 401 || status === 403) {
      const hint = this.token === undefined
        ? 'the repo may be private or gated (or may not exist); set HF_TOKEN to an access token with read access'
        : 'the token in HF_TOKEN was refused or lacks access to this repo (gated repos need their terms accepted on the Hub)';
      return new HubError('auth', this.id, `access denied (HTTP ${status}) downloading ${file} of ${this.id} from ${url}: ${hint}.${detail}`, { url, status });
    }
    if (status === 404) {
      return new HubError('not_found', this.id, `${file} not found in ${this.id} at revision ${this.revision} (HTTP 404 from ${url}); check the model id and revision.${detail}`, { url, status });
    }
    return new HubError('http', this.id, `HTTP ${status} downloading ${file} of ${this.id} from ${url}.${detail}`, { url, status });
  }

  private wrap(e: unknown, url: string): unknown {
    if (!(e instanceof TransportError)) return e;
    if (e.phase === 'integrity') {
      return new HubError('integrity', this.id, `download of ${url} for ${this.id} is corrupt: ${e.code}; run again to re-download`, { url, cause: e });
    }
    if (e.phase === 'connect') {
      return new HubError('network', this.id, `cannot download ${this.id}: network unreachable (${e.code}) connecting to ${e.url}. Check the connection and HF_ENDPOINT (${this.endpoint}), or pass a local model folder.`, { url, cause: e });
    }
    return new HubError('network', this.id, `download of ${this.id} from ${e.url} broke off (${e.code}) after ${this.opts.maxRetries ?? 5} resumed retries; run again to resume from the partial .incomplete file.`, { url, cause: e });
  }
}
