/**
 * The report page's only own script: render every chart placeholder from its JSON island with
 * vega-embed as SVG. It is written as a function so the compiler checks it, then inlined as
 * source text; it must not refer to anything outside its body.
 */
function renderCharts(): void {
  type Embed = (el: Element, spec: unknown, opts: Record<string, unknown>) => Promise<unknown>;
  const embed = (window as unknown as { vegaEmbed: Embed }).vegaEmbed;
  for (const el of Array.from(document.querySelectorAll('[data-chart]'))) {
    const island = document.getElementById(`spec-${el.getAttribute('data-chart') ?? ''}`);
    if (!island) continue;
    const spec: unknown = JSON.parse(island.textContent ?? 'null');
    embed(el, spec, {
      renderer: 'svg',
      // No links that leave the page (the Vega editor is online); export stays, it works offline.
      actions: { export: true, source: false, compiled: false, editor: false },
      downloadFileName: el.getAttribute('data-chart') ?? 'chart',
    })
      .then(() => el.setAttribute('data-rendered', 'ok'))
      .catch((err: Error) => {
        el.setAttribute('data-rendered', 'error');
        el.textContent = `This chart could not be drawn: ${err.message}`;
        console.error(err);
      });
  }
}

export function pageScriptSource(): string {
  return `(${renderCharts.toString()})();`;
}
