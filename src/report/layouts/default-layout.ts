import type { ReportBlock, ReportSection } from '../model.js';
import { chartBlock, CHARTS } from '../charts/index.js';
import { accuracyVsPaperChart } from '../charts/accuracy.js';
import { accuracyTable, cellsTable, failuresTable, methodSummaryTable } from '../tables/results-tables.js';
import { longBenchComparisonTable, paperClaimsTable } from '../tables/paper-tables.js';
import { provenanceBlocks } from '../tables/provenance.js';
import type { Layout } from './types.js';

const present = <T>(xs: (T | null)[]): T[] => xs.filter((x): x is T => x !== null);

/** Charts first, then tables, then provenance (what people sharing a run expect). */
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
    paperClaimsTable(records),
    accuracyTable(records),
    longBenchComparisonTable(records, paperModel),
    failuresTable(records, manifest),
    cellsTable(records),
  ]);
  const sections: ReportSection[] = [];
  if (charts.length) sections.push({ id: 'charts', title: 'Charts', blocks: charts });
  if (tables.length) sections.push({ id: 'tables', title: 'Tables', blocks: tables });
  sections.push({ id: 'provenance', title: 'Provenance', blocks: provenanceBlocks(records, manifest) });
  return sections;
};
