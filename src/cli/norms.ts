// `lisa norms --base DIR --runs RUN... [--json] [--profile OUT.json]`: per-layer mean weight, update and adapter
// norms of lisa train runs against their base, as a table, verdicts and a bar chart (SVG, PNG), or JSON.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { baseLayers, computeLayerNorms, type NormsReport } from '../analysis/layer-norms.js';
import { skewVerdict } from '../analysis/skew.js';
import { writeNormsProfile } from '../analysis/profile.js';
import { NormsError } from '../analysis/errors.js';
import { normsChartSpec } from '../report/norms-chart.js';
import { chartToSvg, svgToPng } from '../report/render.js';
import { resolveModel } from '../io/hub.js';

interface NormsArgs { base: string; runs: string[]; json: boolean; profile?: string; profileRun?: string; out: string }

const HELP = `
Every norm of a layer is the Frobenius norm of all the layer's tensors concatenated (the square root of the sum of
their squared Frobenius norms). Layers: embed (token and position embeddings), block.0..block.{L-1}, finalNorm,
head (a head tied to the embedding is counted once, under embed, and has no row).
  meanWeightNorm  w(l) = (1/T) sum_t ||theta_t(l)|| over the rows of RUN/norms.jsonl (train.normsEvery), else the
                  final ||theta_T(l)||; under LoRA theta is the merged weight W + scale * B @ A
  updateNorm      ||W_T(l) - W_0(l)||; under LoRA the adapted modules' updates scale * B @ A summed in quadrature:
                  sqrt(sum_m ||scale * B_m @ A_m||_F^2), the same number as the merged weights minus the base
  adapterNorm     LoRA: the norm of the layer's A and B matrices themselves; null for other methods and for layers
                  without adapters
--profile writes a norms profile for LISA's weighted sampling (method.sampling: weighted, method.profile: FILE): each
block's update norm from one run; block i is drawn with probability norm_i / sum of norms, gamma blocks without
replacement.`;

function table(report: NormsReport, tiedHead: boolean): string {
  const f = (x: number | null) => (x === null ? '-' : x.toPrecision(5)).padStart(12);
  const lines: string[] = [];
  for (const r of report.runs) {
    lines.push(`${r.run} (${r.method})${tiedHead ? '  [head tied to embed: counted once, under embed]' : ''}`);
    lines.push(`  ${'layer'.padEnd(12)}${'w(l)'.padStart(12)}${'update'.padStart(12)}${'adapter'.padStart(12)}`);
    for (const l of r.layers) lines.push(`  ${l.layer.padEnd(12)}${f(l.meanWeightNorm)}${f(l.updateNorm)}${f(l.adapterNorm)}`);
  }
  return `${lines.join('\n')}\n`;
}

export function registerNorms(program: Command): void {
  program.command('norms')
    .description('layerwise weight, update and LoRA adapter norms of runs against their base model (the paper\'s Figure 2)')
    .requiredOption('--base <dir>', 'the model the runs were trained from: an HF folder or a hub id (org/name)')
    .requiredOption('--runs <dir...>', 'lisa train output folders (final/ or adapter/ inside)')
    .option('--json', 'print {"runs": [...]} as JSON instead of the table and chart', false)
    .option('--profile <file>', 'write a norms profile for LISA weighted sampling')
    .option('--profile-run <name>', 'the run the profile is taken from (default: the first LoRA run, else the first run)')
    .option('--out <dir>', 'folder for norms.svg and norms.png', '.')
    .addHelpText('after', HELP)
    .action(async (o: NormsArgs) => {
      const base = await resolveModel(o.base);
      const report = computeLayerNorms(base, o.runs);
      if (o.profile) {
        const run = o.profileRun !== undefined ? report.runs.find((r) => r.run === o.profileRun)
          : report.runs.find((r) => r.method === 'lora') ?? report.runs[0];
        if (!run) throw new NormsError(`--profile-run: no run named '${o.profileRun}' (runs: ${report.runs.map((r) => r.run).join(', ')})`);
        const p = writeNormsProfile(o.profile, run);
        if (!o.json) process.stdout.write(`profile: ${o.profile} from ${run.run}'s block update norms (probabilities ${p.probabilities!.map((x) => x.toFixed(3)).join(', ')})\n`);
      }
      if (o.json) {
        process.stdout.write(`${JSON.stringify(report)}\n`);
        return;
      }
      process.stdout.write(table(report, baseLayers(base).tiedHead));
      for (const r of report.runs) process.stdout.write(`${skewVerdict(r).sentence}\n`);
      mkdirSync(o.out, { recursive: true });
      const svg = await chartToSvg(normsChartSpec(report));
      writeFileSync(join(o.out, 'norms.svg'), svg);
      writeFileSync(join(o.out, 'norms.png'), svgToPng(svg));
      process.stdout.write(`chart: ${join(o.out, 'norms.svg')}, ${join(o.out, 'norms.png')}\n`);
    });
}
