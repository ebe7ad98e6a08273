// Builds the C++ kernel addon (native/*.cpp -> build/lisa_native.node) with g++ directly, without node-gyp.
// On any failure it prints one warning and exits 0: the package then runs on the pure-TS cpu-js backend.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const cxx = process.env.CXX || 'g++';
// LISA_NATIVE_SANITIZE=1 builds with AddressSanitizer + UBSan into LISA_NATIVE_OUT (npm run test:sanitize).
const sanitize = process.env.LISA_NATIVE_SANITIZE === '1';
const outDir = process.env.LISA_NATIVE_OUT ? resolve(process.env.LISA_NATIVE_OUT) : join(root, 'build');
const target = join(outDir, 'lisa_native.node');

function warn(why) {
  if (sanitize) {
    console.error(`lisa-tune: sanitizer build failed (${why})`);
    process.exit(1);
  }
  console.warn(`lisa-tune: native addon not built (${why}); using the slower pure-TypeScript backend cpu-js.`);
  process.exit(0);
}

if (process.env.LISA_SKIP_NATIVE === '1') warn('LISA_SKIP_NATIVE=1');
const probe = spawnSync(cxx, ['--version'], { encoding: 'utf8' });
if (probe.status !== 0) warn(`${cxx} not found`);

let napiInclude, addonInclude;
try {
  napiInclude = require('node-api-headers').include_dir;
  addonInclude = dirname(require.resolve('node-addon-api/package.json'));
} catch (e) {
  warn(`node-api-headers/node-addon-api missing: ${e.message}`);
}

const srcDir = join(root, 'native');
const sources = readdirSync(srcDir).filter((f) => f.endsWith('.cpp')).sort();
const objDir = join(outDir, 'obj');
mkdirSync(objDir, { recursive: true });

const sanitizeFlags = ['-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-fno-omit-frame-pointer', '-g'];
const common = ['-std=c++17', ...(sanitize ? ['-O1', ...sanitizeFlags] : ['-O3']), '-fPIC', '-fno-math-errno', '-pthread', '-DNAPI_VERSION=8',
  '-DNAPI_DISABLE_CPP_EXCEPTIONS', '-DNODE_ADDON_API_DISABLE_DEPRECATED',
  `-I${napiInclude}`, `-I${addonInclude}`, `-I${srcDir}`];
// Files named *_avx2.cpp hold AVX2/FMA kernels; they are only called after a runtime CPU check.
const flagsFor = (f) => (f.endsWith('_avx2.cpp') ? [...common, '-mavx2', '-mfma'] : common);

const objects = [];
const jobs = sources.map((f) => {
  const obj = join(objDir, f.replace(/\.cpp$/, '.o'));
  objects.push(obj);
  return [cxx, [...flagsFor(f), '-c', join(srcDir, f), '-o', obj], f];
});
// Compile two files at a time (the target machines have 2 cores).
const { spawn } = await import('node:child_process');
async function run([cmd, args, name]) {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => resolve({ code, err, name }));
  });
}
const queue = [...jobs];
const results = [];
await Promise.all([0, 1].map(async () => {
  while (queue.length) results.push(await run(queue.shift()));
}));
const failed = results.find((r) => r.code !== 0);
if (failed) { console.error(failed.err); warn(`compiling native/${failed.name} failed`); }

const tmp = `${target}.tmp`;
const link = spawnSync(cxx, ['-shared', '-pthread', ...(sanitize ? sanitizeFlags : []), '-o', tmp, ...objects, '-ldl'], { encoding: 'utf8' });
if (link.status !== 0) { console.error(link.stderr); warn('linking failed'); }
renameSync(tmp, target);
if (existsSync(objDir)) rmSync(objDir, { recursive: true, force: true });
console.log(`lisa-tune: built native addon ${target}`);
