// The lint that `npm test` runs first, shown firing on fixture projects written to a temp folder: an upward
// import across the layer order, an import cycle, instanceof on a method class outside src/finetune, an
// `as Parameter` cast, a 501-line file (src/ and native/), `any` in src/ (even under an eslint-disable comment),
// a folder outside the layer order and an unused export. Clean files stay clean.
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { repoRoot } from '../helpers.js';
import { tempDirs } from '../cli-helpers.js';

const tempDir = tempDirs('lisa-lint');

function writeTree(root: string, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
}

const lines = (n: number, prefix = ''): string => Array.from({ length: n }, (_, i) => `${prefix}${i}`).join('\n') + '\n';
/** A valid TypeScript file of exactly n lines. */
const tsLines = (n: number): string => `// ${n} lines.\n` + Array.from({ length: n - 1 }, (_, i) => `export const v${i} = ${i};\n`).join('');

interface LintMessage { ruleId: string | null; message: string }
interface LintResult { filePath: string; messages: LintMessage[] }

/** Runs the project's ESLint config over root/src the way `npm run lint` does (cwd = the project root). */
function eslintProject(root: string): Map<string, LintMessage[]> {
  const r = spawnSync(process.execPath, [join(repoRoot, 'node_modules/eslint/bin/eslint.js'), '-c', join(repoRoot, 'eslint.config.js'),
    '--format', 'json', 'src'], { cwd: root, encoding: 'utf8' });
  const results = JSON.parse(r.stdout) as LintResult[];
  return new Map(results.map((x) => [x.filePath.slice(root.length + 1), x.messages]));
}

const rules = (msgs: LintMessage[] | undefined): (string | null)[] => (msgs ?? []).map((m) => m.ruleId);

describe('eslint rules on a fixture project', () => {
  const root = tempDir();
  writeTree(root, {
    'src/util/shape.ts': '// fixture\nexport const rank = (s: number[]): number => s.length;\n',
    // Upward: util is the lowest layer, tensor sits above it.
    'src/util/up.ts': "// fixture\nimport { size } from '../tensor/size.js';\nexport const up = size;\n",
    // Downward: tensor may use util.
    'src/tensor/size.ts': "// fixture\nimport { rank } from '../util/shape.js';\nexport const size = (s: number[]): number => rank(s);\n",
    // A cycle inside one layer.
    'src/ops/a.ts': "// fixture\nimport { b } from './b.js';\nexport const a = (): number => b() + 1;\n",
    'src/ops/b.ts': "// fixture\nimport { a } from './a.js';\nexport const b = (): number => (Math.random() > 2 ? a() : 0);\n",
    'src/nn/big.ts': tsLines(501),
    'src/nn/ok.ts': tsLines(500),
    // A method told apart by its class outside src/finetune (inside it is allowed).
    'src/finetune/lisa.ts': '// fixture\nexport class Lisa {}\nexport const isLisa = (m: object): boolean => m instanceof Lisa;\n',
    'src/train/pick.ts': "// fixture\nimport { Lisa } from '../finetune/lisa.js';\nexport const isLisa = (m: object): boolean => m instanceof Lisa;\n",
    'src/nn/cast.ts': '// fixture\nclass Parameter { name = \'w\'; }\nexport const p = ({} as unknown) as Parameter;\nexport const q = new Parameter();\n',
    'src/nn/loose.ts': '// fixture\n// eslint-disable-next-line @typescript-eslint/no-explicit-any\nexport const id = (x: any): unknown => x;\n',
  });
  const found = eslintProject(root);

  it('an import from a higher layer fails, one from a lower layer passes', () => {
    expect(rules(found.get('src/util/up.ts'))).toEqual(['import-x/no-restricted-paths']);
    expect(found.get('src/util/up.ts')![0]!.message).toContain('src/util may import only from no other layer');
    expect(rules(found.get('src/tensor/size.ts'))).toEqual([]);
  });

  it('an import cycle fails on both files', () => {
    expect(rules(found.get('src/ops/a.ts'))).toContain('import-x/no-cycle');
    expect(rules(found.get('src/ops/b.ts'))).toContain('import-x/no-cycle');
  });

  it('a 501-line source file fails, a 500-line one passes', () => {
    expect(rules(found.get('src/nn/big.ts'))).toEqual(['max-lines']);
    expect(rules(found.get('src/nn/ok.ts'))).toEqual([]);
  });

  it('instanceof on a method class fails outside src/finetune', () => {
    expect(rules(found.get('src/train/pick.ts'))).toEqual(['no-restricted-syntax']);
    expect(rules(found.get('src/finetune/lisa.ts'))).toEqual([]);
  });

  it('an `as Parameter` cast fails in src/', () => {
    expect(rules(found.get('src/nn/cast.ts'))).toEqual(['no-restricted-syntax']);
  });

  it('`any` fails in src/, and an eslint-disable comment does not excuse it', () => {
    expect(rules(found.get('src/nn/loose.ts'))).toContain('@typescript-eslint/no-explicit-any');
  });
});

describe('structure check (native/ line cap, src/ folders in the layer order)', () => {
  const check = (root: string) => spawnSync(process.execPath, [join(repoRoot, 'scripts/check-structure.mjs'), root], { encoding: 'utf8' });

  it('passes on a tree that keeps the rules', () => {
    const root = tempDir();
    writeTree(root, { 'native/ok.cpp': lines(500, '// '), 'src/util/x.ts': '// x\n', 'src/index.ts': '// api\n' });
    const r = check(root);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  }, 60_000);

  it('fails on a 501-line C++ file and on a folder the layer order does not place', () => {
    const root = tempDir();
    writeTree(root, { 'native/big.cpp': lines(501, '// '), 'src/util/x.ts': '// x\n', 'src/misc/y.ts': '// y\n' });
    const r = check(root);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('native/big.cpp: 501 lines, more than the 500-line cap');
    expect(r.stderr).toContain('src/misc/: not in the layer order');
  }, 60_000);
});

describe('unused-export check (knip)', () => {
  it('fails on an export nothing imports', () => {
    const root = tempDir();
    writeTree(root, {
      'package.json': '{ "name": "fixture", "type": "module", "private": true }\n',
      'knip.json': '{ "entry": ["src/main.ts"], "project": ["src/**/*.ts"] }\n',
      'src/main.ts': "import { used } from './lib.js';\nconsole.log(used);\n",
      'src/lib.ts': 'export const used = 1;\nexport const neverImported = 2;\n',
    });
    let out = '';
    let failed = false;
    try {
      execFileSync(process.execPath, [join(repoRoot, 'node_modules/knip/bin/knip.js'), '--no-progress'], { cwd: root, encoding: 'utf8' });
    } catch (e) {
      failed = true;
      out = String((e as { stdout: string }).stdout);
    }
    expect(failed).toBe(true);
    expect(out).toMatch(/Unused exports \(1\)\s+neverImported\s+src\/lib\.ts:2/);
  }, 120_000);
});
