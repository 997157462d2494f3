import { CorruptCheckpointError, RunLockedError, uuidv7, type CheckpointStatus, type CheckpointSummary, type HeaderRecord } from '@savepoint/core';
import { EXIT, CliError, usageError } from '../errors.js';
import { isoTime, table } from '../output.js';
import { headersNewestFirst, listRuns, requireHead } from '../run-listing.js';
import type { CommandContext } from './context.js';

const DAY_MS = 86_400_000;
const FINISHED: readonly CheckpointStatus[] = ['completed', 'failed', 'canceled'];

export async function migrate(ctx: CommandContext): Promise<void> {
  // Connecting set the backend up: migrations for SQLite and PostgreSQL, directories for files, a ping for Redis.
  const conn = await ctx.connection();
  ctx.output.result({ backend: conn.spec.kind, target: conn.spec.display, upToDate: true }, () => [`${conn.spec.kind} backend at ${conn.spec.display} is set up and up to date.`]);
}

/** Deletes a run's checkpoints and blobs. A run a worker holds is refused unless `force`. */
export async function deleteRun(ctx: CommandContext, runId: string, force: boolean): Promise<void> {
  const conn = await ctx.connection();
  await requireHead(conn, runId);
  let lease;
  try {
    lease = await conn.store.acquireLease(runId, `savepoint-cli:delete:${uuidv7()}`, 30_000);
  } catch (error) {
    if (!RunLockedError.isInstance(error) || !force) {
      throw RunLockedError.isInstance(error) ? new CliError('OPERATION_FAILED', `${error.message} Cancel it first, or pass --force to delete it anyway.`) : error;
    }
  }
  const checkpoints = (await conn.adapter.queryHeaders({ runId })).length;
  try {
    await conn.store.deleteRun(runId);
  } finally {
    if (lease) await conn.store.releaseLease(lease).catch(() => undefined);
  }
  ctx.output.result({ runId, deletedCheckpoints: checkpoints }, () => [`Deleted run ${runId} (${checkpoints} checkpoints).`]);
}

export interface PruneOptions {
  olderThanMs: number;
  statuses: CheckpointStatus[];
  flowId?: string | undefined;
  dryRun: boolean;
}

export function parsePruneStatuses(text: string): CheckpointStatus[] {
  const statuses = text.split(',').map((s) => s.trim()).filter(Boolean);
  const wrong = statuses.filter((s) => !(FINISHED as readonly string[]).includes(s));
  if (statuses.length === 0 || wrong.length > 0) {
    throw usageError(`--status takes finished statuses only (${FINISHED.join(', ')}); got "${text}". Unfinished runs are never pruned: delete one with "savepoint delete <runId>".`);
  }
  return statuses as CheckpointStatus[];
}

/**
 * Removes finished runs (of the given statuses) whose head was last updated longer ago than `olderThanMs`,
 * through the store's retention (so the bridge and `resume` then answer "removed by retention" for them).
 */
export async function prune(ctx: CommandContext, options: PruneOptions): Promise<void> {
  const conn = await ctx.connection();
  const now = Date.now();
  const cutoff = now - options.olderThanMs;
  const candidates: CheckpointSummary[] = [];
  for (const status of options.statuses) {
    ctx.output.progress(`looking for ${status} runs`);
    const runs = await listRuns(conn, { status, flowId: options.flowId }, (error) => ctx.output.warn(`${error.message} (left alone)`));
    candidates.push(...runs.filter((run) => run.updatedAt.getTime() < cutoff));
  }
  const rows = candidates.map((run) => ({ runId: run.runId, flowId: run.flowId, status: run.status, updatedAt: run.updatedAt }));
  let deletedCheckpoints = 0;
  let deletedBlobs = 0;
  if (!options.dryRun) {
    // retentionDays > 0 always: a zero --older-than moves "now" instead (same cutoff).
    const retentionDays = Math.max(options.olderThanMs, 1) / DAY_MS;
    const at = cutoff + retentionDays * DAY_MS;
    for (const [i, run] of rows.entries()) {
      ctx.output.progress(`pruning ${i + 1}/${rows.length}: ${run.runId}`);
      const result = await conn.store.cleanup({ runId: run.runId, retentionDays, now: at });
      deletedCheckpoints += result.deletedCheckpoints;
      deletedBlobs += result.deletedBlobs;
    }
  }
  ctx.output.result({ dryRun: options.dryRun, olderThan: isoTime(cutoff), runs: rows, deletedCheckpoints, deletedBlobs }, () => [
    options.dryRun ? `Would prune ${rows.length} run(s) last updated before ${isoTime(cutoff)}:` : `Pruned ${rows.length} run(s) (${deletedCheckpoints} checkpoints, ${deletedBlobs} blobs):`,
    ...(rows.length === 0 ? [] : table(['RUN', 'FLOW', 'STATUS', 'UPDATED'], rows.map((r) => [r.runId, r.flowId, r.status, isoTime(r.updatedAt)]))),
  ]);
}

/**
 * Loads every checkpoint (of one run, or of the whole store) with the store's integrity checks: the header's own
 * digest (or MAC), then every blob it references, re-hashed against its key. Exit 1 when anything is corrupt.
 */
export async function verify(ctx: CommandContext, runId: string | undefined): Promise<number> {
  const conn = await ctx.connection();
  let headers: AsyncIterable<HeaderRecord>;
  if (runId === undefined) headers = headersNewestFirst(conn);
  else {
    await requireHead(conn, runId);
    headers = (async function* () {
      yield* await conn.adapter.queryHeaders({ runId, order: 'asc' });
    })();
  }
  const corrupt: Array<{ runId: string; checkpointId: string; seq: number; message: string }> = [];
  let checked = 0;
  for await (const header of headers) {
    checked++;
    if (checked % 50 === 0) ctx.output.progress(`verified ${checked} checkpoints, ${corrupt.length} corrupt`);
    try {
      await conn.store.load(header.id);
    } catch (error) {
      if (!CorruptCheckpointError.isInstance(error)) throw error;
      corrupt.push({ runId: header.runId, checkpointId: header.id, seq: header.seq, message: error.message });
    }
  }
  ctx.output.result({ checked, corrupt }, () => [
    corrupt.length === 0 ? `Verified ${checked} checkpoints: all intact.` : `Verified ${checked} checkpoints: ${corrupt.length} corrupt.`,
    ...(corrupt.length === 0 ? [] : table(['RUN', 'CHECKPOINT', 'SEQ', 'PROBLEM'], corrupt.map((c) => [c.runId, c.checkpointId, c.seq, c.message]))),
  ]);
  return corrupt.length === 0 ? EXIT.ok : EXIT.failed;
}
