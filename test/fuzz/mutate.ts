// Fuzz mutations, seeded: byte flips/truncations/insertions, JSON value-tree edits (huge/negative/NaN numbers,
// wrong types, deep nesting, duplicated and missing keys, long strings), YAML text edits and protobuf length edits.
import { stringify as toYaml } from 'yaml';
import { Rng } from '../../src/util/rng.js';

/** The per-case generator: a case replays from (run seed, kind, case index) alone. */
export function caseRng(seed: number, kind: string, index: number): Rng {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (const c of `${kind}#${index}`) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return new Rng(h ^ Math.imul(seed >>> 0, 0x9e3779b1));
}

export const pick = <T>(r: Rng, xs: readonly T[]): T => xs[r.int(xs.length)]!;
const enc = new TextEncoder();

// ------------------------------------------------------------------------------------------------ bytes

/** One random byte-level mutation; returns the new bytes and a short description. */
export function mutateBytes(src: Uint8Array, r: Rng): [Uint8Array, string] {
  const b = src.slice();
  const at = (extra = 0) => r.int(b.length + extra);
  switch (r.int(7)) {
    case 0: { // bit flips
      const n = 1 + r.int(4);
      for (let i = 0; i < n && b.length > 0; i++) b[at()]! ^= 1 << r.int(8);
      return [b, `flip x${n}`];
    }
    case 1: { // truncate
      const len = r.int(b.length + 1);
      return [b.subarray(0, len), `truncate to ${len}`];
    }
    case 2: { // insert random bytes
      const pos = at(1);
      const extra = Uint8Array.from({ length: 1 + r.int(16) }, () => r.int(256));
      return [concat(b.subarray(0, pos), extra, b.subarray(pos)), `insert ${extra.length} at ${pos}`];
    }
    case 3: { // overwrite with interesting bytes
      const pos = at();
      const vals = [0, 0xff, 0x7f, 0x80, 0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x0a, 0x23];
      for (let i = 0; i < 1 + r.int(3) && pos + i < b.length; i++) b[pos + i] = pick(r, vals);
      return [b, `interesting byte at ${pos}`];
    }
    case 4: { // duplicate a slice
      const s = at();
      const e = Math.min(b.length, s + 1 + r.int(64));
      const pos = at(1);
      return [concat(b.subarray(0, pos), b.subarray(s, e), b.subarray(pos)), `duplicate [${s}, ${e}) at ${pos}`];
    }
    case 5: { // delete a slice
      const s = at();
      const e = Math.min(b.length, s + 1 + r.int(32));
      return [concat(b.subarray(0, s), b.subarray(e)), `delete [${s}, ${e})`];
    }
    default: { // append
      const extra = Uint8Array.from({ length: 1 + r.int(32) }, () => r.int(256));
      return [concat(b, extra), `append ${extra.length}`];
    }
  }
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// ------------------------------------------------------------------------------------------------- JSON

/** A raw JSON token written as is (NaN, Infinity, 1e999, -0, huge integers); it is not valid JSON everywhere. */
export class Raw {
  constructor(readonly text: string) {}
}
/** An object serialized with a key written twice. */
export class DupKeys {
  constructor(readonly entries: [string, unknown][]) {}
}

const HUGE = [1e12, -1, -1e12, 2 ** 53 + 2, 1e308, -0.5, 0, 1.5, 2 ** 31, 2 ** 32 + 1, -(2 ** 63)];
const RAW = ['NaN', 'Infinity', '-Infinity', '1e999', '-1e999', '-0', '123456789012345678901234567890', '1e-400'];

/** All paths to nodes of a value tree. */
function paths(v: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = [], depth = 0): (string | number)[][] {
  out.push(prefix);
  if (depth > 12 || out.length > 4000 || v instanceof Raw || v instanceof DupKeys) return out;
  if (Array.isArray(v)) {
    const step = Math.max(1, Math.floor(v.length / 64));
    for (let i = 0; i < v.length; i += step) paths(v[i], [...prefix, i], out, depth + 1);
  } else if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v);
    const step = Math.max(1, Math.floor(keys.length / 64));
    for (let i = 0; i < keys.length; i += step) paths((v as Record<string, unknown>)[keys[i]!], [...prefix, keys[i]!], out, depth + 1);
  }
  return out;
}

function getAt(v: unknown, p: readonly (string | number)[]): unknown {
  return p.reduce<unknown>((x, k) => (x as Record<string | number, unknown>)[k], v);
}

function setAt(root: unknown, p: readonly (string | number)[], value: unknown, del = false): unknown {
  if (p.length === 0) return value;
  const parent = getAt(root, p.slice(0, -1)) as Record<string | number, unknown>;
  const k = p[p.length - 1]!;
  if (del) {
    if (Array.isArray(parent)) parent.splice(k as number, 1);
    else delete parent[k];
  } else parent[k] = value;
  return root;
}

function nest(value: unknown, depth: number, r: Rng): unknown {
  let v = value;
  const obj = r.int(2) === 0;
  for (let i = 0; i < depth; i++) v = obj ? { a: v } : [v];
  return v;
}

/** One structural edit of a JSON value tree (which is modified; pass a clone). */
export function mutateValue(root: unknown, r: Rng, opts: { maxString?: number } = {}): [unknown, string] {
  const all = paths(root);
  const p = pick(r, all);
  const cur = getAt(root, p);
  const where = p.join('.') || '(root)';
  const maxString = opts.maxString ?? 200_000;
  switch (r.int(10)) {
    case 0: return [setAt(root, p, pick(r, HUGE)), `${where} = huge/negative number`];
    case 1: return [setAt(root, p, new Raw(pick(r, RAW))), `${where} = raw number token`];
    case 2: { // wrong type
      const vals: unknown[] = ['x', '', 7, true, null, [], {}, [1, 'a'], { k: 1 }];
      return [setAt(root, p, pick(r, vals)), `${where} = wrong type`];
    }
    case 3: return p.length === 0 ? [{}, 'root = {}'] : [setAt(root, p, undefined, true), `delete ${where}`];
    case 4: return [setAt(root, p, nest(cur, pick(r, [20, 200, 5000, 20000]), r)), `nest ${where}`];
    case 5: { // duplicate key
      if (cur !== null && typeof cur === 'object' && !Array.isArray(cur) && Object.keys(cur).length > 0) {
        const entries = Object.entries(cur as Record<string, unknown>);
        const [k, v] = pick(r, entries);
        entries.splice(r.int(entries.length + 1), 0, [k, r.int(2) ? v : pick(r, [0, 'dup', null, -5])]);
        return [setAt(root, p, new DupKeys(entries)), `duplicate key ${where}.${k}`];
      }
      return [setAt(root, p, new DupKeys([['k', 1], ['k', 2]])), `dup-key object at ${where}`];
    }
    case 6: { // very long string
      const n = pick(r, [1000, 65536, maxString]);
      return [setAt(root, p, pick(r, ['x', '\u00e9', 'ab ', '\ud83d\ude00', '\\', '"', '\u0000']).repeat(n)), `${where} = long string`];
    }
    case 7: { // long or empty array
      return [setAt(root, p, r.int(2) ? [] : Array.from({ length: pick(r, [1000, 100_000]) }, (_, i) => (r.int(2) || (cur !== null && typeof cur === 'object') || (typeof cur === 'string' && cur.length > 64) ? i : cur))), `${where} = long/empty array`];
    }
    case 8: { // numeric tweak of a number, or string of a number
      if (typeof cur === 'number') return [setAt(root, p, pick(r, [cur + 1, cur - 1, cur * 1000, -cur, cur / 3, String(cur)])), `${where} tweak`];
      if (typeof cur === 'string') return [setAt(root, p, cur.slice(0, r.int(cur.length + 1))), `${where} cut string`];
      return [setAt(root, p, pick(r, HUGE)), `${where} = number`];
    }
    default: { // add an unknown key / element
      if (Array.isArray(cur)) { cur.push(pick(r, [cur[0], null, 'x', 1e12])); return [root, `${where} push`]; }
      if (cur !== null && typeof cur === 'object') {
        const k = pick(r, ['extra', '__proto__', 'constructor', '', 'x'.repeat(300)]);
        Object.defineProperty(cur, k, { value: pick(r, [1, 'v', null, {}]), enumerable: true, writable: true, configurable: true });
        return [root, `${where} add key ${k.slice(0, 12)}`];
      }
      return [setAt(root, p, [cur, cur]), `${where} = [v, v]`];
    }
  }
}

/** Literal text pushed on the serializer's stack. */
class Lit {
  constructor(readonly s: string) {}
}

/** Serializes a mutated tree: Raw tokens verbatim, DupKeys with the duplicate; iterative for deep nesting. */
export function toJson(v: unknown): string {
  const out: string[] = [];
  const stack: unknown[] = [v];
  while (stack.length > 0) {
    const x = stack.pop();
    if (x instanceof Lit) out.push(x.s);
    else if (x instanceof Raw) out.push(x.text);
    else if (Array.isArray(x)) {
      out.push('[');
      stack.push(new Lit(']'));
      for (let i = x.length - 1; i >= 0; i--) {
        stack.push(x[i] === undefined ? null : x[i]);
        if (i > 0) stack.push(new Lit(','));
      }
    } else if (x !== null && typeof x === 'object') {
      const entries = x instanceof DupKeys ? x.entries : Object.entries(x);
      out.push('{');
      stack.push(new Lit('}'));
      for (let i = entries.length - 1; i >= 0; i--) {
        stack.push(entries[i]![1] === undefined ? null : entries[i]![1]);
        stack.push(new Lit(`${i > 0 ? ',' : ''}${JSON.stringify(entries[i]![0])}:`));
      }
    } else out.push(x === undefined ? 'null' : JSON.stringify(x));
  }
  return out.join('');
}

/** Deep clone of a plain JSON value. */
export const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** 1-3 structural edits of a JSON seed, serialized; sometimes followed by a byte mutation. */
export function mutateJson(seed: unknown, r: Rng, opts: { maxString?: number; bytesChance?: number } = {}): [Uint8Array, string] {
  let v = clone(seed);
  const what: string[] = [];
  for (let i = 1 + r.int(3); i > 0; i--) {
    let w: string;
    [v, w] = mutateValue(v, r, opts);
    what.push(w);
  }
  let bytes: Uint8Array = enc.encode(toJson(v));
  if (r.uniform() < (opts.bytesChance ?? 0.15)) {
    let w: string;
    [bytes, w] = mutateBytes(bytes, r);
    what.push(w);
  }
  return [bytes, what.join(' + ')];
}

// ------------------------------------------------------------------------------------------------- YAML

/** Structural edits written as YAML (or JSON), or YAML-specific text edits (aliases, tags, .nan, tabs). */
export function mutateYaml(seed: unknown, r: Rng): [Uint8Array, string] {
  const mode = r.int(4);
  if (mode <= 1) {
    let v = clone(seed);
    const what: string[] = [];
    for (let i = 1 + r.int(2); i > 0; i--) {
      let w: string;
      [v, w] = mutateValue(v, r, { maxString: 100_000 });
      what.push(w);
    }
    if (mode === 0 || containsSpecial(v)) return [enc.encode(toJson(v)), `${what.join(' + ')} (as JSON)`];
    try {
      return [enc.encode(toYaml(v)), `${what.join(' + ')} (as YAML)`];
    } catch {
      return [enc.encode(toJson(v)), `${what.join(' + ')} (as JSON: too deep for the YAML writer)`];
    }
  }
  const text = toYaml(seed);
  if (mode === 2) return mutateBytes(enc.encode(text), r);
  const lines = text.split('\n');
  const i = r.int(lines.length);
  const indent = /^\s*/.exec(lines[i]!)![0];
  const edits: [string, (l: string) => string][] = [
    ['anchor + recursive alias', () => `${indent}rec: &a\n${indent}  self: *a`],
    ['alias to unknown anchor', (l) => l.replace(/:\s.*$/, ': *nope')],
    ['value .nan', (l) => l.replace(/:\s.*$/, ': .nan')],
    ['value .inf', (l) => l.replace(/:\s.*$/, ': -.inf')],
    ['tag !!binary', (l) => l.replace(/:\s.*$/, ': !!binary aGVsbG8=')],
    ['tag !!js/function', (l) => l.replace(/:\s.*$/, ': !!js/function "function(){}"')],
    ['tab indent', (l) => `\t${l}`],
    ['merge key', () => `${indent}<<: {lr: 1}`],
    ['duplicate line', (l) => `${l}\n${l}`],
    ['huge int', (l) => l.replace(/:\s.*$/, ': 123456789012345678901234567890')],
    ['hex/octal', (l) => l.replace(/:\s.*$/, ': 0x7fffffff')],
    ['doc separator', (l) => `${l}\n---\nmore: 1`],
    ['alias bomb', () => `${indent}a: &a [x, x, x, x, x, x, x, x, x]\n${indent}b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n${indent}c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n${indent}d: [*c, *c, *c, *c, *c, *c, *c, *c, *c]`],
  ];
  const [name, f] = pick(r, edits);
  lines[i] = f(lines[i]!);
  return [enc.encode(lines.join('\n')), `${name} at line ${i + 1}`];
}

function containsSpecial(v: unknown, depth = 0): boolean {
  if (v instanceof Raw || v instanceof DupKeys) return true;
  if (depth > 50 || v === null || typeof v !== 'object') return false;
  return Object.values(v).some((x) => containsSpecial(x, depth + 1));
}

// --------------------------------------------------------------------------------------------- protobuf

/** Length-delimited fields of a protobuf message, recursing into `nested` field numbers: [keyPos, lenPos, start, end]. */
export function protoFields(buf: Uint8Array, nested: ReadonlySet<number>, start = 0, end = buf.length, out: number[][] = []): number[][] {
  let pos = start;
  end = Math.min(end, buf.length);
  const varint = (): number => {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 10 && pos < end; i++) {
      const b = buf[pos++]!;
      v += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) break;
      mul *= 128;
    }
    return v;
  };
  while (pos < end) {
    const keyPos = pos;
    const key = varint();
    const wire = key & 7;
    if (wire === 0) varint();
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      const lenPos = pos;
      const len = varint();
      out.push([keyPos, lenPos, pos, pos + len]);
      if (nested.has(Math.floor(key / 8))) protoFields(buf, nested, pos, pos + len, out);
      pos += len;
    } else break;
  }
  return out;
}

/** Writes `v` as a protobuf varint. */
export function varintBytes(v: number | bigint): Uint8Array {
  let x = BigInt(v);
  if (x < 0n) x = BigInt.asUintN(64, x);
  const out: number[] = [];
  do {
    const b = Number(x & 0x7fn);
    x >>= 7n;
    out.push(x > 0n ? b | 0x80 : b);
  } while (x > 0n);
  return Uint8Array.from(out);
}

/** Edits a length field (huge, past the file, off by one, negative), a key (wire type), or the bytes. */
export function mutateProto(src: Uint8Array, r: Rng, nested: ReadonlySet<number>): [Uint8Array, string] {
  const fields = protoFields(src, nested);
  const mode = r.int(4);
  if (mode === 0 || fields.length === 0) return mutateBytes(src, r);
  const [keyPos, lenPos, start, end] = pick(r, fields);
  if (mode === 3) { // change the wire type of a key
    const b = src.slice();
    b[keyPos!] = (b[keyPos!]! & ~7) | pick(r, [0, 1, 3, 4, 5, 6, 7]);
    return [b, `wire type at ${keyPos}`];
  }
  const len = end! - start!;
  const vals = [len + 1, len - 1, len + 1000, src.length, 2 ** 31, 2 ** 32 + len, 2 ** 53, -1, -(2 ** 31), 0];
  const v = pick(r, vals);
  return [concat(src.subarray(0, lenPos), varintBytes(v), src.subarray(start)), `length at ${lenPos}: ${len} -> ${v}`];
}
