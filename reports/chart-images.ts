import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile } from 'vega-lite';
import type { VegaLiteSpec } from '../src/report/model.js';

/** A Vega-Lite spec as SVG text, rendered headless (renderer 'none': no canvas, no DOM). */
export async function chartSvg(spec: VegaLiteSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * SVG → PNG at 2× for slides. resvg needs real fonts for the text; generic families map to
 * fonts that Debian/Ubuntu runners have (DejaVu, Liberation), falling back to whatever is there.
 */
export function svgToPng(svg: string, scale = 2): Buffer {
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans', serifFamily: 'DejaVu Serif', monospaceFamily: 'DejaVu Sans Mono' },
  });
  return Buffer.from(resvg.render().asPng());
}
