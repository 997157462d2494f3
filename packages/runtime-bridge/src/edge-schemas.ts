import { InvalidRunInputError, type NodeCheckpointState, type NodeError, type Workflow } from '@savepoint/core';
import { z } from 'zod';

/**
 * A `POST /runs` input checked against the workflow's `inputSchema` before the run is registered or anything is
 * stored: zod's output (defaults and transforms applied), or `InvalidRunInputError` (a 422 listing the issues).
 * Core checks the input again in `workflow.run`; this check exists so that a refusal leaves no trace at all.
 */
export async function checkedRunInput(name: string, workflow: Workflow<any, any, any>, input: unknown): Promise<unknown> {
  const schema = workflow.inputSchema;
  if (!schema) return input;
  const parsed = await schema.safeParseAsync(input);
  if (parsed.success) return parsed.data;
  const error = new InvalidRunInputError(
    `Workflow "${name}" refused the run input; nothing was started. Send an \`input\` its inputSchema accepts ` +
      `(GET /workflows lists it as JSON Schema): ${z.prettifyError(parsed.error)}`,
  );
  error.issues = parsed.error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
  throw error;
}

/**
 * A finished run's output as the workflow's outputSchema makes it (transforms applied, as `run_completed` carries
 * it), or as stored with why the schema refuses it. Core records that refusal in the run's events only (no node
 * failed, so no node state holds it): checking the stored output again is how `GET /runs/:id` can say why such a
 * run failed.
 */
export async function checkedRunOutput(
  workflow: Workflow<any, any, any>,
  nodeStates: Readonly<Record<string, NodeCheckpointState>>,
): Promise<{ output: unknown; error?: NodeError }> {
  const output = workflow.flow.outputOf(nodeStates);
  const schema = workflow.outputSchema;
  if (!schema) return { output };
  const parsed = await schema.safeParseAsync(output);
  if (parsed.success) return { output: parsed.data };
  const message = `The run's output fails the workflow's outputSchema: ${z.prettifyError(parsed.error)}. Fix the flow, then start a new run or fork this one.`;
  return { output, error: { name: 'InvalidOutputError', message, code: 'INVALID_OUTPUT' } };
}
