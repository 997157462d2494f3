import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

export interface SchemaIssue {
  path: string;
  message: string;
}

// One validator per process; zod writes draft 2020-12 (with formats such as email and uuid) into pending inputs.
let ajv: Ajv2020 | undefined;

/**
 * Checks an answer against the JSON Schema stored with the pending input, before anything is written. The
 * workflow code re-checks it with its zod schema when the run takes it (refinements JSON Schema cannot express).
 */
export function answerIssues(schema: Record<string, unknown>, value: unknown): SchemaIssue[] {
  ajv ??= addFormats(new Ajv2020({ strict: false, allErrors: true }));
  const validate = ajv.compile(schema);
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) => ({ path: e.instancePath.replace(/^\//, '').replace(/\//g, '.'), message: e.message ?? 'is invalid' }));
}
