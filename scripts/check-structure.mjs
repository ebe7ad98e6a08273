// Structure checks ESLint cannot make: no native/ source over the line cap (ESLint does not read C++), and
// every folder of src/ placed in the layer order (scripts/layers.mjs), so a new folder cannot dodge the
// import-boundary rules. Usage: node scripts/check-structure.mjs [root]; exits 1 with one line per problem.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { LAYERS, MAX_LINES, TOP_FILES } from './layers.mjs';

const NATIVE_SOURCE = /\.(c|cc|cpp|cxx|h|hh|hpp|inl)$/;

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out;
}

/** Lines as an editor counts them (a final newline does not start another line). */
function lineCount(text) {
  if (text.length === 0) return 0;
  const n = text.split('\n').length;
  return text.endsWith('\n') ? n - 1 : n;
}

export function structureProblems(root) {
  const problems = [];
  const native = join(root, 'native');
  for (const f of statSync(native, { throwIfNoEntry: false })?.isDirectory() ? walk(native) : []) {
    if (!NATIVE_SOURCE.test(f)) continue;
    const n = lineCount(readFileSync(f, 'utf8'));
    if (n > MAX_LINES) problems.push(`${relative(root, f)}: ${n} lines, more than the ${MAX_LINES}-line cap (split it)`);
  }
  const src = join(root, 'src');
  for (const name of readdirSync(src)) {
    const isDir = statSync(join(src, name)).isDirectory();
    if (isDir && !LAYERS.includes(name)) {
      problems.push(`src/${name}/: not in the layer order; add it to scripts/layers.mjs where design.md section 3 places it`);
    } else if (!isDir && !TOP_FILES.includes(name)) {
      problems.push(`src/${name}: files directly in src/ are only ${TOP_FILES.join(', ')}; put it in a layer folder`);
    }
  }
  return problems;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const problems = structureProblems(process.argv[2] ?? process.cwd());
  for (const p of problems) console.error(p);
  process.exit(problems.length ? 1 : 0);
}
