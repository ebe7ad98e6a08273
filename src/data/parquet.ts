// Parquet data files (as Hugging Face datasets publish them), read with hyparquet. The readers of this folder are
// synchronous and hyparquet's reader is asynchronous, so the rows are read in a worker thread while this thread
// waits on a shared flag (the pattern of synckit): the caller gets the rows as plain objects.
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { DataError } from './data-error.js';

/** True for the extension read as a Parquet table. */
export function isParquetFile(path: string): boolean {
  return extname(path).toLowerCase() === '.parquet';
}

export interface ParquetTable {
  /** Top-level column names, in schema order. */
  columns: string[];
  /** One object per row: strings, numbers, lists (arrays) and structs (objects), as hyparquet decodes them. */
  rows: Record<string, unknown>[];
}

/** The worker: reads the file with hyparquet, posts {columns, rows} or {error}, then sets the flag and wakes us. */
const WORKER = `
const { workerData } = require('node:worker_threads');
const { readFile } = require('node:fs/promises');
const { flag, port, path, hyparquet } = workerData;
(async () => {
  try {
    const { parquetMetadata, parquetReadObjects, parquetSchema } = await import(hyparquet);
    const bytes = await readFile(path);
    const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    const metadata = parquetMetadata(file);
    const columns = parquetSchema(metadata).children.map((c) => c.element.name);
    const rows = await parquetReadObjects({ file, metadata, utf8: true });
    const plain = JSON.parse(JSON.stringify(rows, (k, v) => (typeof v === 'bigint' ? Number(v) : v)));
    port.postMessage({ columns, rows: plain });
  } catch (e) {
    port.postMessage({ error: (e && (e.code || e.message)) || String(e) });
  }
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
})();
`;

/** The last table read, reused while the file is unchanged (format detection and the reader both read it). */
let last: { key: string; table: ParquetTable } | null = null;

/** Reads every row of a Parquet file; DataError when it cannot be read or is not Parquet. */
export function readParquet(path: string): ParquetTable {
  let key = path;
  try {
    const st = statSync(path);
    key = `${path}\0${st.ino}\0${st.size}\0${st.mtimeMs}\0${st.ctimeMs}`;
  } catch {
    // the worker reports the error
  }
  if (last?.key === key) return last.table;
  const table = readParquetNow(path);
  last = { key, table };
  return table;
}

function readParquetNow(path: string): ParquetTable {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  const hyparquet = pathToFileURL(createRequire(import.meta.url).resolve('hyparquet')).href;
  const worker = new Worker(WORKER, { eval: true, workerData: { flag, port: port2, path, hyparquet }, transferList: [port2] });
  try {
    Atomics.wait(flag, 0, 0);
    const msg = receiveMessageOnPort(port1)?.message as Partial<ParquetTable> & { error?: string } | undefined;
    if (msg === undefined) throw new DataError(`${path}: the Parquet reader stopped without an answer`);
    if (msg.error !== undefined) throw new DataError(`${path}: cannot read the Parquet file (${msg.error})`);
    return { columns: msg.columns ?? [], rows: msg.rows ?? [] };
  } finally {
    port1.close();
    void worker.terminate();
  }
}
