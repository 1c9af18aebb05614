/** The report's stylesheet: plain, print-friendly, readable tables. */
export const REPORT_CSS = `
:root { color-scheme: light; --fg: #1d1d1f; --muted: #5f6368; --line: #dadce0; --band: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--fg); }
header, main { max-width: 1200px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 24px; border-bottom: 1px solid var(--line); }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 0 0 2px; }
.meta, .caption, .intro { color: var(--muted); margin: 4px 0 12px; }
nav ul { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 4px 16px; margin: 8px 0 12px; }
nav a { color: #1a73e8; text-decoration: none; }
figure.chart { margin: 16px 0 28px; }
figure.chart .vega { overflow-x: auto; min-height: 60px; }
.table-wrap { overflow-x: auto; margin: 12px 0 28px; }
table { border-collapse: collapse; font-size: 13px; max-width: 100%; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
/* Cells wrap (long ids and notes break anywhere), so a wide table fits the page instead of scrolling. */
th, td { border-bottom: 1px solid var(--line); padding: 4px 10px; text-align: left; vertical-align: top; overflow-wrap: anywhere; }
th { background: var(--band); position: sticky; top: 0; overflow-wrap: normal; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
#table-headline td { min-width: 9em; }
td.empty { color: var(--muted); }
details { margin: 12px 0 24px; }
pre { background: var(--band); padding: 12px; overflow-x: auto; font-size: 12px; max-height: 480px; }
footer { max-width: 1200px; margin: 32px auto; padding: 0 24px; color: var(--muted); font-size: 12px; }
@media print { figure.chart, .table-wrap { break-inside: avoid; } nav { display: none; } }
`;
