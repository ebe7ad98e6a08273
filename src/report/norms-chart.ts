// The layerwise norms chart (the paper's Figure 2): per layer, one bar per run, in one panel per statistic of
// `lisa norms` (mean weight norm, update norm, LoRA adapter norm), as a Vega-Lite spec for render.ts or a page.
import type { ChartSpec } from './render.js';

/** What the chart reads: the shape of `lisa norms --json`. */
export interface NormsChartInput {
  runs: readonly { run: string; method: string; layers: readonly { layer: string; meanWeightNorm: number; updateNorm: number; adapterNorm: number | null }[] }[];
}

export type NormsStatistic = 'meanWeightNorm' | 'updateNorm' | 'adapterNorm';

const STATISTIC_TITLES: Record<NormsStatistic, string> = {
  meanWeightNorm: 'mean weight norm w(l) = (1/T) sum_t ||theta_t(l)||',
  updateNorm: 'update norm ||W_T(l) - W_0(l)||',
  adapterNorm: 'LoRA adapter norm (A and B themselves)',
};

/** One panel per statistic (adapterNorm only when some run has adapters); bars grouped by layer in model order,
 *  one colour per run. */
export function normsChartSpec(report: NormsChartInput, statistics?: readonly NormsStatistic[]): ChartSpec {
  const layers = [...new Set(report.runs.flatMap((r) => r.layers.map((l) => l.layer)))];
  const series = report.runs.map((r) => `${r.run} (${r.method})`);
  const hasAdapters = report.runs.some((r) => r.layers.some((l) => l.adapterNorm !== null));
  const stats = statistics ?? (['meanWeightNorm', 'updateNorm', ...(hasAdapters ? ['adapterNorm' as const] : [])] as NormsStatistic[]);
  const width = Math.max(240, layers.length * Math.max(1, report.runs.length) * 14);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'Layerwise norms',
    vconcat: stats.map((stat) => ({
      title: STATISTIC_TITLES[stat],
      width,
      height: 160,
      data: {
        values: report.runs.flatMap((r, i) => r.layers.filter((l) => l[stat] !== null).map((l) => ({ run: series[i], layer: l.layer, norm: l[stat] }))),
      },
      mark: 'bar' as const,
      encoding: {
        x: { field: 'layer', type: 'nominal' as const, sort: layers, scale: { domain: layers }, title: 'layer', axis: { labelAngle: -45 } },
        xOffset: { field: 'run', type: 'nominal' as const, sort: series },
        y: { field: 'norm', type: 'quantitative' as const, title: 'Frobenius norm' },
        color: { field: 'run', type: 'nominal' as const, sort: series, title: 'run' },
        tooltip: [{ field: 'run' }, { field: 'layer' }, { field: 'norm', format: '.4g' }],
      },
    })),
  };
}
