import type { RunResult } from '@savepoint/core';
import { EXIT } from '../errors.js';
import { brief } from '../output.js';
import { loadWorkflow } from '../user-module.js';
import type { CommandContext } from './context.js';

/** Prints a run result; a run that failed or was canceled exits 1, one that finished, waits or paused exits 0. */
export function reportResult(ctx: CommandContext, result: RunResult): number {
  const view = {
    runId: result.runId,
    status: result.status,
    checkpointId: result.checkpointId,
    output: result.output,
    error: result.error ? { name: result.error.name, message: result.error.message, code: (result.error as { code?: string }).code ?? null } : null,
    pendingInputs: result.pendingInputs.map((p) => ({ nodePath: p.nodePath, requestId: p.requestId ?? null, prompt: p.prompt, schema: p.schema })),
    warnings: result.warnings,
  };
  ctx.output.result(view, () => [
    `Run ${view.runId}: ${view.status} (checkpoint ${view.checkpointId ?? '-'})`,
    ...(view.status === 'success' ? [`output: ${brief(view.output, 200)}`] : []),
    ...(view.error ? [`error: ${view.error.name}: ${view.error.message}`] : []),
    ...view.pendingInputs.map((p) => `waiting for input at ${p.nodePath}: ${p.prompt}`),
    ...view.warnings.map((w) => `warning ${w.code}: ${w.message}`),
  ]);
  return result.status === 'failure' || result.status === 'canceled' ? EXIT.failed : EXIT.ok;
}

export interface ResumeCommandOptions {
  module: string;
  workflow?: string | undefined;
  cwd: string;
  waitForLease?: boolean | undefined;
}

/** Resumes a run with the user's workflow code (its own backend), in this process, and prints the result. */
export async function resume(ctx: CommandContext, runId: string, options: ResumeCommandOptions): Promise<number> {
  const workflow = await loadWorkflow(options.module, options.workflow, options.cwd);
  const result = await workflow.resume({ runId, ...(options.waitForLease ? { waitForLease: true } : {}) });
  return reportResult(ctx, result);
}
