import type { ReportBlock, ReportSection } from '../model.js';
import { chartBlock, CHARTS } from '../charts/index.js';
import { accuracyVsPaperChart } from '../charts/accuracy.js';
import { accuracyTable, cellsTable, failuresTable, methodSummaryTable } from '../tables/results-tables.js';
import { headlineTable } from '../tables/headline.js';
import { longBenchComparisonTable } from '../tables/paper-tables.js';
import { provenanceBlocks } from '../tables/provenance.js';
import type { Layout } from './types.js';

const present = <T>(xs: (T | null)[]): T[] => xs.filter((x): x is T => x !== null);

/** The answer first (the paper's claims beside ours), then charts, tables, provenance. */
export const defaultLayout: Layout = ({ records, manifest, paperModel }) => {
  const charts: ReportBlock[] = [
    ...chartBlock(CHARTS.compression, records),
    ...chartBlock(CHARTS.throughputVsBatch, records),
    ...chartBlock(CHARTS.speedupVsBatch, records),
    ...chartBlock(CHARTS.throughputEqualMemory, records),
    ...chartBlock(CHARTS.memoryVsBatch, records),
    ...chartBlock(CHARTS.memorySaving, records),
    ...chartBlock(CHARTS.accuracyDelta, records),
    ...chartBlock({ ...CHARTS.accuracyVsPaper, build: (r) => accuracyVsPaperChart(r, paperModel) }, records),
    ...chartBlock(CHARTS.similarity, records),
    ...chartBlock(CHARTS.retained, records),
  ];
  const tables: ReportBlock[] = present([
    methodSummaryTable(records),
    accuracyTable(records),
    longBenchComparisonTable(records, paperModel),
    failuresTable(records, manifest),
    cellsTable(records),
  ]);
  const sections: ReportSection[] = [];
  const headline = headlineTable(records, paperModel);
  if (headline) sections.push({ id: 'headline', title: 'The answer', blocks: [headline] });
  if (charts.length) sections.push({ id: 'charts', title: 'Charts', blocks: charts });
  if (tables.length) sections.push({ id: 'tables', title: 'Tables', blocks: tables });
  sections.push({ id: 'provenance', title: 'Provenance', blocks: provenanceBlocks(records, manifest) });
  return sections;
};
