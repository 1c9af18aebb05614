import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { HarnessError, Problems } from '../../src/errors.js';
import { createMethod } from '../../src/methods/registry.js';
import { readLlama2cConfig } from '../../src/model/llama2c.js';
import type { ModelCard } from '../../src/model/model-card.js';
import { parseYamlWithPositions } from '../../src/suite/parse-yaml.js';
import type { ResolvedSuite } from '../../src/suite/types.js';

/** A model's KV geometry from its card, or for a llama2.c checkpoint its 28-byte header (not the weights). */
export function cardGeometry(card: ModelCard): { layers: number; kvHeads: number; headDim: number } | undefined {
  if (card.layers && card.kvHeads && card.headDim) return { layers: card.layers, kvHeads: card.kvHeads, headDim: card.headDim };
  if (card.format !== 'llama2c') return undefined;
  const fd = openSync(card.path, 'r');
  try {
    const head = new Uint8Array(28);
    readSync(fd, head, 0, 28, 0);
    const c = readLlama2cConfig(head);
    return { layers: c.layers, kvHeads: c.kvHeads, headDim: c.headDim };
  } catch {
    return undefined; // loading the model reports a bad checkpoint
  } finally {
    closeSync(fd);
  }
}

/**
 * `validate`: build each method of the suite on each model's cache geometry, so that a parameter
 * value the method refuses (kivi bits: 3, a group size that does not divide the head dim) is
 * reported at its place in the suite instead of failing every such cell at run time. Every
 * method that cannot run is reported at once.
 */
export function checkMethodsOnModels(suite: ResolvedSuite, cards: readonly ModelCard[]): void {
  const problems = new Problems();
  for (const [mi, model] of suite.models.entries()) {
    const g = cardGeometry(cards[mi]!);
    if (!g) continue;
    for (const [i, m] of suite.methods.entries()) {
      try {
        createMethod(m.name, { ...g, batch: 1 }, m.params);
      } catch (e) {
        const path = Object.keys(m.params).length && m.name !== 'fp16' ? ['methods', i, 'params'] : ['methods', i];
        let pos: { line?: number; col?: number } = {};
        try {
          pos = parseYamlWithPositions(readFileSync(suite.file, 'utf8'), suite.file).locate(path) ?? {};
        } catch {
          /* the suite parsed once already; without a position the field still says where */
        }
        problems.add(new HarnessError(
          'suite.method',
          `${m.label ?? m.name} cannot run on model ${model.id} (${g.layers} layers, ${g.kvHeads} KV heads, head dim ${g.headDim}): ${(e as Error).message}`,
          { file: suite.file, ...pos, field: `methods[${i}]` },
          'change the method parameters (`minicache-bench list` shows them), or run it on another model',
        ));
      }
    }
  }
  problems.throwIfAny();
}
