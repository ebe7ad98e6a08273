// Builds the C++ kernel addon (native/*.cpp -> build/lisa_native.node) with g++ directly, without node-gyp.
// On any failure it prints one warning and exits 0: the package then runs on the pure-TS cpu-js backend.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const cxx = process.env.CXX || 'g++';
const outDir = join(root, 'build');
const target = join(outDir, 'lisa_native.node');

function warn(why) {
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

const common = ['-std=c++17', '-O3', '-fPIC', '-fno-math-errno', '-pthread', '-DNAPI_VERSION=8',
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
const link = spawnSync(cxx, ['-shared', '-pthread', '-o', tmp, ...objects, '-ldl'], { encoding: 'utf8' });
if (link.status !== 0) { console.error(link.stderr); warn('linking failed'); }
renameSync(tmp, target);
if (existsSync(objDir)) rmSync(objDir, { recursive: true, force: true });
console.log(`lisa-tune: built native addon ${target}`);
