import { uuidv7, type PendingInputContext } from '@savepoint/core';
import { answerIssues } from '../answer-schema.js';
import { answerRecord, notifyInput } from '../bridge-inbox.js';
import { CliError, usageError } from '../errors.js';
import { requireHead } from '../run-listing.js';
import { loadWorkflow } from '../user-module.js';
import type { CommandContext } from './context.js';
import { reportResult } from './resume.js';

export interface AnswerOptions {
  module?: string | undefined;
  workflow?: string | undefined;
  idempotencyKey?: string | undefined;
  cwd: string;
}

export function parseAnswerJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw usageError(`The answer is not JSON (${(error as Error).message}); quote it for your shell, e.g. '{"ok":true}'.`);
  }
}

function question(pending: readonly PendingInputContext[], runId: string, nodePath: string): PendingInputContext {
  const found = pending.find((p) => p.nodePath === nodePath);
  if (found) return found;
  const waiting = pending.map((p) => p.nodePath).join(', ') || 'none';
  throw new CliError('OPERATION_FAILED', `Run ${runId} is not waiting for input at "${nodePath}" (waiting at: ${waiting}).`);
}

function validate(q: PendingInputContext, runId: string, value: unknown): void {
  const issues = answerIssues(q.schema, value);
  if (issues.length === 0) return;
  const text = issues.map((i) => `${i.path || '(value)'}: ${i.message}`).join('; ');
  throw new CliError('INVALID_ANSWER', `The answer to ${q.nodePath} of run ${runId} does not match its schema; nothing was written. ${text}`, { issues });
}

/**
 * Answers a pending input. The value is checked against the question's stored JSON Schema first. With
 * `--module`, the run is resumed here with the answer; otherwise the answer goes to the backend's inbox, where a
 * runtime-bridge worker takes it (at once when it waits live for it, else when it next resumes the run).
 */
export async function answer(ctx: CommandContext, runId: string, nodePath: string, json: string, options: AnswerOptions): Promise<number> {
  const value = parseAnswerJson(json);
  if (options.module !== undefined) {
    const workflow = await loadWorkflow(options.module, options.workflow, options.cwd);
    const pending = await workflow.getPendingInputs({ runId });
    if (pending.length === 0 && !(await workflow.getLatestCheckpoint({ runId }))) {
      await requireHead(await ctx.connection(), runId);
    }
    const q = question(pending, runId, nodePath);
    validate(q, runId, value);
    const result = await workflow.resume({ runId, input: { [nodePath]: value }, ...(q.requestId ? { requestIds: { [nodePath]: q.requestId } } : {}) });
    return reportResult(ctx, result);
  }
  const conn = await ctx.connection();
  const head = await conn.store.load(await requireHead(conn, runId));
  const q = question(head.pendingInputs, runId, nodePath);
  validate(q, runId, value);
  if (!conn.adapter.putInput || q.requestId === undefined) {
    throw usageError(
      `${q.requestId === undefined ? 'This question has no requestId (written by an older release)' : `The ${conn.spec.kind} backend has no input inbox`}: answer with --module <file> --workflow <name>, which resumes the run here.`,
    );
  }
  const idempotencyKey = options.idempotencyKey ?? `cli.${uuidv7()}`;
  const { created, record } = await conn.adapter.putInput(runId, answerRecord(conn.store, { requestId: q.requestId, nodePath, value, idempotencyKey }, Date.now()));
  if (!created) {
    const same = (conn.store.openPayload(record.value) as { idempotencyKey?: string }).idempotencyKey === idempotencyKey;
    if (!same) throw new CliError('OPERATION_FAILED', `Question ${q.requestId} at ${nodePath} of run ${runId} was answered already; nothing was written.`);
  }
  await notifyInput(conn.adapter, runId);
  const view = { runId, nodePath, requestId: q.requestId, idempotencyKey, delivery: 'inbox' as const };
  ctx.output.result(view, () => [
    `Answer to ${nodePath} of run ${runId} stored in the inbox (request ${q.requestId}).`,
    'A runtime-bridge worker waiting for it takes it at once; a paused run takes it when it is next resumed',
    `(POST /runs/${runId}/resume). To resume it here instead, answer with --module <file> --workflow <name>.`,
  ]);
  return 0;
}
