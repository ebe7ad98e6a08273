// Typed errors for src/io: malformed files, missing files, bad writer arguments and Hub download failures.
import { LisaError } from '../util/errors.js';

/** A file's contents are not what the format requires (safetensors, config.json, index json, ...). */
export class FormatError extends LisaError {
  override name = 'FormatError';
  /** The file at fault (path as given by the caller). */
  readonly file: string;
  /** The tensor, JSON key or shard involved, when there is one. */
  readonly key?: string;

  /**
   * @param file   the file at fault
   * @param detail what was found and what was expected
   * @param key    tensor / key name; when given the message reads `file: tensor "key": detail`
   * @param what   label for `key` in the message (default "tensor")
   */
  constructor(file: string, detail: string, key?: string, what = 'tensor') {
    super(key === undefined ? `${file}: ${detail}` : `${file}: ${what} ${JSON.stringify(key)}: ${detail}`);
    this.file = file;
    if (key !== undefined) this.key = key;
  }
}

/** A tensor uses a dtype that is valid safetensors but cannot be converted to float32 here. */
export class UnsupportedDtypeError extends FormatError {
  override name = 'UnsupportedDtypeError';
  readonly dtype: string;
  constructor(file: string, key: string, dtype: string, detail: string) {
    super(file, detail, key);
    this.dtype = dtype;
  }
}

/** A file that must exist (config.json, weights, a shard named by an index) is missing. */
export class MissingFileError extends FormatError {
  override name = 'MissingFileError';
  /** The file that referenced the missing one (e.g. the shard index), if any. */
  readonly referencedBy?: string;
  constructor(file: string, detail: string, opts: { key?: string; referencedBy?: string } = {}) {
    super(file, detail, opts.key);
    if (opts.referencedBy !== undefined) this.referencedBy = opts.referencedBy;
  }
}

/** The caller passed something that cannot be written (bad shape, duplicate name, bad dtype option). */
export class WriteArgumentError extends LisaError {
  override name = 'WriteArgumentError';
  readonly file: string;
  readonly key?: string;
  constructor(file: string, detail: string, key?: string) {
    super(key === undefined ? `${file}: ${detail}` : `${file}: tensor ${JSON.stringify(key)}: ${detail}`);
    this.file = file;
    if (key !== undefined) this.key = key;
  }
}

/** Why a Hub download failed. */
export type HubErrorKind = 'network' | 'auth' | 'not_found' | 'http' | 'integrity' | 'offline' | 'invalid_id' | 'io';

/** Downloading a model from the Hugging Face Hub (or a mirror at HF_ENDPOINT) failed. */
export class HubError extends LisaError {
  override name = 'HubError';
  readonly kind: HubErrorKind;
  readonly modelId: string;
  readonly url?: string;
  readonly status?: number;
  constructor(kind: HubErrorKind, modelId: string, message: string, opts: { url?: string; status?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.kind = kind;
    this.modelId = modelId;
    if (opts.url !== undefined) this.url = opts.url;
    if (opts.status !== undefined) this.status = opts.status;
  }
}
