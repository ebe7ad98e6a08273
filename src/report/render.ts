// Chart rendering for reports: a Vega-Lite spec compiled and rendered offline to SVG (vega's headless
// renderer, no browser or canvas) and SVG to PNG (resvg). Charts are always specs, never hand-built SVG.
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';
import { Resvg } from '@resvg/resvg-js';

/** A Vega-Lite top-level spec (kept loose: the specs are plain JSON written next to their data). */
export type ChartSpec = vegaLite.TopLevelSpec;

/** Compiles a Vega-Lite spec to a Vega spec (what `vega-embed` in an HTML page would also do). */
export function compileChart(spec: ChartSpec): vega.Spec {
  return vegaLite.compile(spec).spec;
}

/** Renders a Vega-Lite spec to a standalone SVG document. */
export async function chartToSvg(spec: ChartSpec): Promise<string> {
  const view = new vega.View(vega.parse(compileChart(spec)), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Rasterises an SVG document to PNG bytes at `scale` times its own size (system fonts, no network). */
export function svgToPng(svg: string, scale = 2): Buffer {
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    font: { loadSystemFonts: true },
  });
  return resvg.render().asPng();
}
