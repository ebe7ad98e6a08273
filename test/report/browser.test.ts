// report.html in a real browser (Debian's chromium, headless, driven by puppeteer-core): the page renders with
// no console error or failed request, each chart has its marks (one line per method, one bar per layer and run,
// one bar per memory category), the per-run report charts its steps, and a screenshot is saved.
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { runCompareCli, writeTinyCompare, type TinyCompare } from '../compare/tiny-compare.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

function haveChromium(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI === 'true') throw new Error(`chromium missing at ${CHROMIUM} (required under CI=true: apt-get install -y chromium)`);
  console.warn(`NOTICE: skipping the browser test: no chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`);
  return false;
}

interface Results {
  methods: { name: string }[];
  norms: { runs: { run: string; layers: { layer: string; meanWeightNorm: number; updateNorm: number; adapterNorm: number | null }[] }[] };
}

/** Opens a file in the browser, collecting console errors, page errors and failed requests. */
async function open(browser: Browser, path: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`page: ${String(e)}`));
  page.on('requestfailed', (r) => errors.push(`request: ${r.url()}`));
  page.on('request', (r) => { if (!r.url().startsWith('file:')) errors.push(`network request: ${r.url()}`); });
  await page.goto(pathToFileURL(path).href, { waitUntil: 'load' });
  return { page, errors };
}

const count = (page: Page, selector: string) => page.$$eval(selector, (els) => els.length);
const labels = (page: Page, selector: string) => page.$$eval(selector, (els) => els.map((e) => e.getAttribute('aria-label') ?? ''));

describe.runIf(haveChromium())('report.html in chromium', () => {
  let t: TinyCompare;
  let browser: Browser;
  let results: Results;
  const shots = mkdtempSync(join(tmpdir(), 'lisa-report-shots-'));

  beforeAll(async () => {
    t = writeTinyCompare({ steps: 8 });
    const run = await runCompareCli([t.configPath]);
    if (run.code !== 0) throw new Error(`lisa compare failed (${run.code}): ${run.err}`);
    results = JSON.parse(readFileSync(join(t.out, 'results.json'), 'utf8')) as Results;
    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    if (t) rmSync(t.root, { recursive: true, force: true });
    console.log(`screenshots: ${shots}`);
  });

  it('renders the comparison with every chart\'s marks and no error', async () => {
    const { page, errors } = await open(browser, join(t.out, 'report.html'));
    const methods = results.methods.map((m) => m.name);
    expect(await page.$eval('h1', (h) => h.textContent)).toContain('lisa compare');
    expect(await count(page, '#results tbody tr')).toBe(methods.length);
    for (const id of ['train-loss', 'eval-loss']) {
      // One line per method (the mean over seeds), one band per method.
      expect(await count(page, `#${id} [aria-roledescription="line mark"]`), id).toBe(methods.length);
      expect(await count(page, `#${id} [aria-roledescription="errorband"]`), id).toBe(methods.length);
      const legend = await page.$$eval(`#${id} [aria-roledescription="legend"] text`, (els) => els.map((e) => e.textContent));
      for (const m of methods) expect(legend).toContain(m);
    }
    // Memory: per method, an estimate bar of 5 categories and a measured bar of 5.
    expect(await count(page, '#memory [aria-roledescription="bar"]')).toBe(methods.length * 10);
    // Norms: per statistic, one bar per layer and run (adapter norms only where LoRA adapted the layer).
    const expected = (['meanWeightNorm', 'updateNorm', 'adapterNorm'] as const)
      .reduce((n, s) => n + results.norms.runs.reduce((k, r) => k + r.layers.filter((l) => l[s] !== null).length, 0), 0);
    const bars = await labels(page, '#norms [aria-roledescription="bar"]');
    expect(bars.length).toBe(expected);
    const layers = results.norms.runs[0].layers.map((l) => l.layer);
    expect(layers).toEqual(['embed', 'block.0', 'block.1', 'block.2', 'block.3', 'finalNorm', 'head']);
    for (const r of results.norms.runs) {
      for (const l of layers) expect(bars.filter((b) => b.includes(`layer: ${l};`) && b.includes(r.run)).length, `${r.run} ${l}`).toBeGreaterThanOrEqual(2);
    }
    // Each chart has a visible size on the page.
    for (const id of ['train-loss', 'eval-loss', 'memory', 'norms']) {
      const box = await (await page.$(`#${id} svg`))!.boundingBox();
      expect(box!.width, id).toBeGreaterThan(200);
      expect(box!.height, id).toBeGreaterThan(100);
    }
    const shot = join(shots, 'compare.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(10_000);
    expect(errors).toEqual([]);
  }, 60_000);

  it('renders a run\'s own report: loss, lr, grad norm, tokens/s and the active blocks', async () => {
    const dir = join(t.out, 'runs', 'lisa', 'seed-1');
    const steps = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { activeLayers: number[] });
    const { page, errors } = await open(browser, join(dir, 'report.html'));
    expect(await count(page, '#loss [aria-roledescription="line mark"]')).toBe(2); // train and eval
    for (const id of ['lr', 'grad-norm', 'tokens-per-sec']) expect(await count(page, `#${id} [aria-roledescription="line mark"]`), id).toBe(1);
    const active = await labels(page, '#active-layers [aria-roledescription="square"]');
    expect(active.length).toBe(steps.reduce((n, s) => n + s.activeLayers.length, 0));
    for (const b of steps[0].activeLayers) expect(active).toContain(`optimizer step: 1; block: ${b}`);
    await page.screenshot({ path: join(shots, 'run.png'), fullPage: true });
    expect(errors).toEqual([]);
  }, 60_000);
});
