import type { WorkloadCatalogue } from '../suite/load-suite.js';
import type { WorkloadDef } from './workload.js';
import { generateWorkload } from './workloads/generate.js';
import { sharegptWorkload } from './workloads/sharegpt.js';
import { sharegptRequestsWorkload } from './workloads/sharegpt-requests.js';
import { similarityWorkload } from './workloads/similarity.js';
import { perplexityWorkload } from './workloads/perplexity.js';
import { longbenchEmbeddedWorkload, longbenchWorkload } from './workloads/longbench.js';

const workloads = new Map<string, WorkloadDef>([
  ['generate', generateWorkload],
  ['sharegpt', sharegptWorkload],
  ['sharegpt-requests', sharegptRequestsWorkload],
  ['similarity', similarityWorkload],
  ['perplexity', perplexityWorkload],
  ['longbench', longbenchWorkload],
  ['longbench-embedded', longbenchEmbeddedWorkload],
]);

export function registerWorkload(name: string, def: WorkloadDef): void {
  workloads.set(name, def);
}

export function getWorkload(name: string): WorkloadDef | undefined {
  return workloads.get(name);
}

/** Names and defaults, for suite validation and --help. */
export function workloadCatalogue(): WorkloadCatalogue {
  return Object.fromEntries([...workloads].map(([k, v]) => [k, { defaults: v.defaults, description: v.description }]));
}
