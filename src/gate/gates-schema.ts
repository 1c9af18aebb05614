/**
 * JSON schema of configs/gates.yaml. The source of truth lives here so the isomorphic core can
 * validate without reading files; configs/gates.schema.json is a copy for editors (a test keeps
 * them equal).
 */
const globs = {
  oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, minItems: 1 }],
  description: 'A glob (*, ?, {a,b}) or a list of globs; a leading ! excludes.',
} as const;

export const gatesSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://minicache-bench.dev/gates.schema.json',
  title: 'minicache-bench gate rules',
  description: 'Rules that `minicache-bench gate` evaluates against a results folder.',
  type: 'object',
  additionalProperties: false,
  required: ['rules'],
  properties: {
    $schema: { type: 'string' },
    rules: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'metric', 'kind'],
        properties: {
          name: { type: 'string', minLength: 1, description: 'Named in the verdict table and in failures.' },
          description: { type: 'string' },
          metric: { type: 'string', description: 'A metric of the catalogue (src/gate/metric-catalog.ts), e.g. compressionRatio, decodeTokensPerSecond, taskScore.' },
          kind: {
            enum: ['vs-fp16', 'vs-baseline', 'absolute'],
            description: 'vs-fp16: ratio to the FP16 cell of the same run; vs-baseline: ratio to the same cell of --baseline; absolute: the value itself.',
          },
          level: { enum: ['warn', 'error'], default: 'error' },
          cells: {
            type: 'object',
            additionalProperties: false,
            properties: { model: globs, method: globs, workload: globs, label: globs, task: globs },
          },
          min: { type: 'number' },
          max: { type: 'number' },
          equal: { type: 'boolean', description: 'Relative kinds: must equal the reference exactly.' },
        },
        anyOf: [{ required: ['min'] }, { required: ['max'] }, { required: ['equal'], properties: { equal: { const: true } } }],
      },
    },
  },
} as const;
