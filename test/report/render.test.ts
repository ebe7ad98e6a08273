// Chart rendering: a known bar chart renders to SVG with one mark per datum, and to a PNG of the right size.
import { describe, expect, it } from 'vitest';
import { chartToSvg, svgToPng, type ChartSpec } from '../../src/report/render.js';

const spec: ChartSpec = {
  width: 200,
  height: 100,
  data: { values: [{ layer: 'embed', norm: 3 }, { layer: 'block.0', norm: 1 }, { layer: 'head', norm: 2 }] },
  mark: 'bar',
  encoding: {
    x: { field: 'layer', type: 'nominal', sort: null },
    y: { field: 'norm', type: 'quantitative' },
  },
};

describe('chart rendering', () => {
  it('renders a Vega-Lite bar chart to SVG with one bar per datum', async () => {
    const svg = await chartToSvg(spec);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/aria-roledescription="bar"/g)?.length).toBe(3);
    expect(svg).toContain('aria-label="layer: embed; norm: 3"');
    expect(svg).toContain('block.0');
  });

  it('rasterises the SVG to a PNG scaled from the SVG size', async () => {
    const svg = await chartToSvg(spec);
    const png = svgToPng(svg, 2);
    expect([...png.subarray(1, 4)].map((c) => String.fromCharCode(c)).join('')).toBe('PNG');
    const width = png.readUInt32BE(16);
    const svgWidth = Number(/width="(\d+(?:\.\d+)?)"/.exec(svg)![1]);
    expect(width).toBe(Math.round(svgWidth * 2));
  });
});
