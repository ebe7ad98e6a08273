// Tests for the safetensors reader and writer: round trips, F16/BF16 decoding, layout and every bad input.

import { afterAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { openSafetensors, readSafetensors, writeSafetensors } from '../../src/io/safetensors.js';
import { FormatError, MissingFileError, UnsupportedDtypeError, WriteArgumentError } from '../../src/io/errors.js';
import { bf16BitsToF32, f32ToBf16Bits, roundToBf16, roundToF16 } from '../../src/io/dtype.js';
import { buildSafetensors, f32Bytes, rmTemp, rng, smallValidFile, tempDir, u16Bytes, writeBytes } from './fixtures.js';

const dir = tempDir();
afterAll(() => rmTemp(dir));
let counter = 0;
const fresh = (name = 'f'): string => join(dir, `${name}-${counter++}.safetensors`);

function randomData(n: number, seed: number): Float32Array {
  const r = rng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (r() - 0.5) * 10 ** Math.floor(r() * 8 - 4);
  return a;
}

function expectFormatError(fn: () => unknown, ...parts: string[]): FormatError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(FormatError);
  for (const p of parts) expect((err as Error).message).toContain(p);
  return err as FormatError;
}

describe('safetensors round trip', () => {
  it('F32 write then read is bit-identical, with sorted names, padding and format metadata', () => {
    const special = new Float32Array([NaN, Infinity, -Infinity, -0, 1e-45, 3.4028234663852886e38]);
    const tensors = [
      { name: 'z.weight', shape: [3, 5], data: randomData(15, 1) },
      { name: 'a.bias', shape: [5], data: randomData(5, 2) },
      { name: 'm.special', shape: [2, 3], data: special },
      { name: 'empty', shape: [0, 4], data: new Float32Array(0) },
      { name: 'scalar', shape: [], data: new Float32Array([42]) },
    ];
    const path = fresh();
    const size = writeSafetensors(path, tensors);
    const bytes = readFileSync(path);
    expect(bytes.length).toBe(size);
    const n = Number(bytes.readBigUInt64LE(0));
    expect(n % 8).toBe(0);
    const headerText = bytes.subarray(8, 8 + n).toString('utf8');
    expect(JSON.parse(headerText).__metadata__).toEqual({ format: 'pt' });
    const f = openSafetensors(path);
    expect(f.names()).toEqual(['a.bias', 'empty', 'm.special', 'scalar', 'z.weight']);
    expect(f.metadata).toEqual({ format: 'pt' });
    for (const t of tensors) {
      const info = f.info(t.name);
      expect(info.dtype).toBe('F32');
      expect(info.shape).toEqual(t.shape);
      expect(info.byteLength).toBe(t.data.length * 4);
      const got = f.read(t.name);
      expect(new Uint32Array(got.buffer)).toEqual(new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length));
    }
    f.close();
    expect(readdirSync(dir).filter((x) => x.endsWith('.tmp'))).toEqual([]);
  });

  it('BF16 write then read equals bf16-rounded values; a second round trip is bit-identical', () => {
    const data = randomData(1000, 3);
    data.set([NaN, Infinity, -Infinity, -0, 3.4e38, 1.00390625, 1.01171875], 0); // ties round to even
    const p1 = fresh();
    writeSafetensors(p1, [{ name: 'w', shape: [10, 100], data }], { dtype: 'BF16', metadata: { note: 'x' } });
    const f1 = openSafetensors(p1);
    expect(f1.info('w').dtype).toBe('BF16');
    expect(f1.info('w').byteLength).toBe(2000);
    expect(f1.metadata).toEqual({ format: 'pt', note: 'x' });
    const once = f1.read('w');
    f1.close();
    const expected = roundToBf16(data);
    for (let i = 0; i < data.length; i++) {
      if (Number.isNaN(data[i])) expect(Number.isNaN(once[i])).toBe(true);
      else expect(Object.is(once[i], expected[i])).toBe(true);
    }
    expect(once[4]).toBe(Infinity); // 3.4e38 rounds above bf16 max
    expect(once[5]).toBe(1); // tie 1 + 2^-8 goes to even 1
    expect(once[6]).toBe(1.015625); // tie 1 + 3*2^-8 goes to even 1 + 2^-6
    const p2 = fresh();
    writeSafetensors(p2, [{ name: 'w', shape: [10, 100], data: once }], { dtype: 'BF16', metadata: { note: 'x' } });
    expect(readFileSync(p2).equals(readFileSync(p1))).toBe(true);
    const twice = readSafetensors(p2).get('w')!;
    expect(new Uint32Array(twice.buffer)).toEqual(new Uint32Array(once.buffer));
  });

  it('F16 write then read equals f16-rounded values', () => {
    const data = randomData(500, 4);
    data.set([65504, 70000, 1e-8, -0], 0);
    const p = fresh();
    writeSafetensors(p, [{ name: 'h', shape: [500], data }, { name: 'keep', shape: [2], data: new Float32Array([0.1, 0.2]), dtype: 'F32' }], { dtype: 'F16' });
    const f = openSafetensors(p);
    expect(f.names()).toEqual(['keep', 'h']); // wider dtype first, as the reference writer orders them
    expect(f.info('h').dtype).toBe('F16');
    expect(f.read('h')).toEqual(roundToF16(data));
    expect(f.read('h')[1]).toBe(Infinity);
    expect(f.read('keep')).toEqual(new Float32Array([0.1, 0.2]));
    f.close();
  });

  it('bf16 scalar conversion: rounding, NaN kept, exact decode', () => {
    expect(f32ToBf16Bits(1)).toBe(0x3f80);
    expect(f32ToBf16Bits(-2.5)).toBe(0xc020);
    expect(Number.isNaN(bf16BitsToF32(f32ToBf16Bits(NaN)))).toBe(true);
    const nanWithLowPayload = new Float32Array(new Uint32Array([0x7f800001]).buffer)[0]!;
    expect(Number.isNaN(bf16BitsToF32(f32ToBf16Bits(nanWithLowPayload)))).toBe(true);
    expect(bf16BitsToF32(0x7f80)).toBe(Infinity);
  });

  it('reads F16 (written by hand) exactly: normals, max, subnormals, inf, NaN, -0', () => {
    const bits = [0x3c00, 0xc100, 0x7bff, 0x0001, 0x03ff, 0x0400, 0x7c00, 0xfc00, 0x7e00, 0x8000, 0x3555];
    const path = writeBytes(fresh(), buildSafetensors({ h: { dtype: 'F16', shape: [bits.length], data_offsets: [0, bits.length * 2] } }, u16Bytes(bits)));
    const f = openSafetensors(path);
    const v = f.read('h');
    f.close();
    expect(v[0]).toBe(1);
    expect(v[1]).toBe(-2.5);
    expect(v[2]).toBe(65504);
    expect(v[3]).toBe(2 ** -24);
    expect(v[4]).toBe(1023 * 2 ** -24);
    expect(v[5]).toBe(2 ** -14);
    expect(v[6]).toBe(Infinity);
    expect(v[7]).toBe(-Infinity);
    expect(Number.isNaN(v[8])).toBe(true);
    expect(Object.is(v[9], -0)).toBe(true);
    expect(v[10]).toBeCloseTo(1 / 3, 3);
  });

  it('reads BF16, F64, I64, I32, U8 and BOOL written by hand', () => {
    const parts: [string, string, number[], Uint8Array][] = [
      ['bf', 'BF16', [2], u16Bytes([0x3f80, 0xc020])],
      ['d', 'F64', [2], new Uint8Array(new Float64Array([0.1, -7]).buffer)],
      ['l', 'I64', [2], new Uint8Array(new BigInt64Array([-3n, 1n << 40n]).buffer)],
      ['i', 'I32', [1], new Uint8Array(new Int32Array([-5]).buffer)],
      ['u', 'U8', [2], new Uint8Array([0, 255])],
      ['b', 'BOOL', [2], new Uint8Array([0, 1])],
    ];
    const header: Record<string, unknown> = {};
    const chunks: Uint8Array[] = [];
    let off = 0;
    for (const [name, dtype, shape, bytes] of parts) {
      header[name] = { dtype, shape, data_offsets: [off, off + bytes.length] };
      chunks.push(bytes);
      off += bytes.length;
    }
    const path = writeBytes(fresh(), buildSafetensors(header, Buffer.concat(chunks)));
    const all = readSafetensors(path);
    expect([...all.get('bf')!]).toEqual([1, -2.5]);
    expect(all.get('d')![0]).toBeCloseTo(0.1, 7);
    expect([...all.get('l')!]).toEqual([-3, 2 ** 40]);
    expect([...all.get('i')!]).toEqual([-5]);
    expect([...all.get('u')!]).toEqual([0, 255]);
    expect([...all.get('b')!]).toEqual([0, 1]);
    const f = openSafetensors(path);
    expect([...f.readRaw('u')]).toEqual([0, 255]);
    f.close();
  });

  it('readInto fills a caller buffer and checks its length', () => {
    const path = writeBytes(fresh(), smallValidFile());
    const f = openSafetensors(path);
    const out = new Float32Array(6);
    expect([...f.readInto('a', out)]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(() => f.readInto('a', new Float32Array(5))).toThrow(/"a".*expected 6/);
    f.close();
  });

  it('writer rejects bad arguments with WriteArgumentError naming the tensor', () => {
    const p = fresh();
    expect(() => writeSafetensors(p, [{ name: 'x', shape: [2, 2], data: new Float32Array(3) }])).toThrow(WriteArgumentError);
    expect(() => writeSafetensors(p, [{ name: 'x', shape: [1], data: new Float32Array(1) }, { name: 'x', shape: [1], data: new Float32Array(1) }])).toThrow(/"x".*twice/);
    expect(() => writeSafetensors(p, [{ name: 'x', shape: [-1], data: new Float32Array(1) }])).toThrow(/"x"/);
  });

  it('an interrupted write leaves the previous file intact and no temp file', () => {
    const p = fresh();
    writeSafetensors(p, [{ name: 'x', shape: [1], data: new Float32Array([1]) }]);
    const before = readFileSync(p);
    class Exploding extends Float32Array {
      override subarray(): Float32Array<ArrayBuffer> {
        throw new Error('boom while writing');
      }
    }
    const tensors = [
      { name: 'a', shape: [4], data: new Float32Array([1, 2, 3, 4]) },
      { name: 'b', shape: [2], data: new Exploding(2) },
    ];
    expect(() => writeSafetensors(p, tensors, { dtype: 'BF16' })).toThrow(/boom while writing/);
    expect(readFileSync(p).equals(before)).toBe(true);
    expect(readdirSync(dir).filter((x) => x.endsWith('.tmp'))).toEqual([]);
  });
});

describe('safetensors bad input', () => {
  const ok = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } };
  const data = f32Bytes([1, 2, 3]);
  const file = (bytes: Uint8Array): string => writeBytes(fresh('bad'), bytes);

  it('missing file', () => {
    const p = join(dir, 'nope.safetensors');
    const e = expectFormatError(() => openSafetensors(p), p, 'does not exist');
    expect(e).toBeInstanceOf(MissingFileError);
  });
  it('file shorter than 8 bytes', () => {
    const p = file(new Uint8Array([1, 2, 3]));
    expectFormatError(() => openSafetensors(p), p, '3 bytes');
  });
  it('truncated file (data cut short)', () => {
    const full = buildSafetensors(ok, data);
    const p = file(full.subarray(0, full.length - 3));
    const e = expectFormatError(() => openSafetensors(p), p, '"b"', 'past the end');
    expect(e.key).toBe('b');
  });
  it('truncated after opening: read fails with FormatError naming the tensor', () => {
    const p = file(buildSafetensors(ok, data));
    const f = openSafetensors(p);
    truncateSync(p, 8 + 16);
    expectFormatError(() => f.read('b'), p, '"b"', 'ended');
    f.close();
  });
  it('header length past end of file', () => {
    const p = file(buildSafetensors(ok, data, { headerLen: 10_000n }));
    expectFormatError(() => openSafetensors(p), p, 'header length 10000', 'past the end');
  });
  it('absurd header length', () => {
    const p = file(buildSafetensors(ok, data, { headerLen: 1n << 62n }));
    expectFormatError(() => openSafetensors(p), p, 'absurd');
  });
  it('non-JSON header', () => {
    const p = file(buildSafetensors('{"a": {dtype: F32}}', data));
    expectFormatError(() => openSafetensors(p), p, 'not valid JSON');
  });
  it('header that is JSON but not an object', () => {
    const p = file(buildSafetensors('[1, 2]', data));
    expectFormatError(() => openSafetensors(p), p, 'JSON object');
  });
  it('unknown dtype', () => {
    const p = file(buildSafetensors({ ...ok, a: { ...ok.a, dtype: 'F31' } }, data));
    expectFormatError(() => openSafetensors(p), p, '"a"', 'unknown dtype "F31"');
  });
  it('known but unreadable dtype opens, then read says unsupported', () => {
    const p = file(buildSafetensors({ q: { dtype: 'F4', shape: [2], data_offsets: [0, 1] } }, new Uint8Array([0x21])));
    const f = openSafetensors(p);
    const e = expectFormatError(() => f.read('q'), p, '"q"', 'F4');
    expect(e).toBeInstanceOf(UnsupportedDtypeError);
    f.close();
  });
  it('bad shape', () => {
    for (const shape of [[2.5], [-1], '2', [null]]) {
      const p = file(buildSafetensors({ ...ok, a: { ...ok.a, shape } }, data));
      expectFormatError(() => openSafetensors(p), p, '"a"', 'shape');
    }
  });
  it('byte length differs from numel * dtype size', () => {
    const p = file(buildSafetensors({ ...ok, a: { ...ok.a, shape: [3] } }, data));
    expectFormatError(() => openSafetensors(p), p, '"a"', 'needs 12');
  });
  it('offsets out of range', () => {
    const p = file(buildSafetensors({ a: { dtype: 'F32', shape: [3], data_offsets: [4, 16] } }, data));
    expectFormatError(() => openSafetensors(p), p, '"a"', 'past the end');
    const p2 = file(buildSafetensors({ a: { dtype: 'F32', shape: [0], data_offsets: [8, 4] } }, data));
    expectFormatError(() => openSafetensors(p2), p2, '"a"', 'end before');
  });
  it('overlapping offsets', () => {
    const p = file(buildSafetensors({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, data));
    expectFormatError(() => openSafetensors(p), p, '"b"', 'overlap', '"a"');
  });
  it('hole between tensors and trailing bytes are rejected (as the reference library does)', () => {
    const p = file(buildSafetensors({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, data));
    expectFormatError(() => openSafetensors(p), p, '"b"', 'belong to no tensor');
    const p2 = file(buildSafetensors({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, data));
    expectFormatError(() => openSafetensors(p2), p2, 'trailing');
  });
  it('duplicate tensor names', () => {
    const h = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}';
    const p = file(buildSafetensors(h, data));
    expectFormatError(() => openSafetensors(p), p, '"a"', 'more than once');
  });
  it('metadata with a non-string value', () => {
    const p = file(buildSafetensors({ __metadata__: { step: 3 }, ...ok }, data));
    expectFormatError(() => openSafetensors(p), p, '__metadata__.step', 'string');
  });
  it('asking for a tensor that is not there', () => {
    const p = file(buildSafetensors(ok, data));
    const f = openSafetensors(p);
    expectFormatError(() => f.read('zz'), p, '"zz"', 'not found');
    f.close();
  });
  it('empty header object with empty data is valid', () => {
    const p = file(buildSafetensors('{}', new Uint8Array(0)));
    const f = openSafetensors(p);
    expect(f.names()).toEqual([]);
    f.close();
  });
  it('header padding with spaces is accepted; other trailing bytes in the header are not', () => {
    const p = file(buildSafetensors(`${JSON.stringify(ok)}\0\0`, data, { pad: false }));
    expectFormatError(() => openSafetensors(p), p, 'JSON');
  });
});
