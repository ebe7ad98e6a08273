// Loading the addon: one built from older sources (some NativeAddon function missing) is refused with a reason
// that names what it lacks and how to rebuild, and every other backend keeps working (a child process with
// LISA_NATIVE_ADDON pointing at a stand-in module).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

describe('native addon loading', () => {
  it('refuses an addon that lacks a function, naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lisa-addon-'));
    const fake = join(dir, 'old_addon.cjs');
    // Every function but adviseHugePages, as an addon built before it existed.
    writeFileSync(fake, `for (const k of ${JSON.stringify(['gemm', 'gemmInfo', 'kernelInfo', 'setNumThreads'])}) exports[k] = () => {};`);
    const script = `import('${join(process.cwd(), 'src/backends/cpu-native.ts')}').then((m) => console.log(JSON.stringify([m.loadNativeBackend() === null, m.nativeUnavailableReason()])));`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], {
      encoding: 'utf8', env: { ...process.env, LISA_NATIVE_ADDON: fake },
    });
    const [refused, reason] = JSON.parse(out.trim().split('\n').pop()!) as [boolean, string];
    expect(refused).toBe(true);
    expect(reason).toContain(fake);
    expect(reason).toMatch(/lacks .*adviseHugePages/);
    expect(reason).toContain('node scripts/build-native.mjs');
  });
});
