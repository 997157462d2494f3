import { NotFoundError, RemovedByRetentionError, removedRunMessage, type CheckpointStatus, type CheckpointSummary, type HeaderQuery, type HeaderRecord, type SavepointError } from '@savepoint/core';
import type { Connection } from './connect.js';

const PAGE = 200;

export interface RunFilter {
  flowId?: string | undefined;
  status?: CheckpointStatus | undefined;
  tenantId?: string | undefined;
  limit?: number | undefined;
}

/**
 * Every header matching `query`, newest first (by id: UUIDv7, creation order), a page at a time. The store has no
 * "list runs" call, so runs are found through their headers.
 */
export async function* headersNewestFirst(conn: Connection, query: Omit<HeaderQuery, 'order' | 'limit' | 'beforeId'> = {}): AsyncGenerator<HeaderRecord> {
  let beforeId: string | undefined;
  for (;;) {
    const page = await conn.adapter.queryHeaders({ ...query, order: 'desc', limit: PAGE, ...(beforeId === undefined ? {} : { beforeId }) });
    yield* page;
    if (page.length < PAGE) return;
    beforeId = page[page.length - 1]!.id;
  }
}

/**
 * Run heads (verified), most recently active first. A header whose integrity check fails is reported to
 * `onCorrupt` and its run skipped: `verify` is the command that examines corruption.
 */
export async function listRuns(conn: Connection, filter: RunFilter, onCorrupt: (error: SavepointError) => void): Promise<CheckpointSummary[]> {
  const query: HeaderQuery = {};
  if (filter.flowId !== undefined) query.flowId = filter.flowId;
  if (filter.tenantId !== undefined) query.tenantId = filter.tenantId;
  // A run whose head has the status has at least that header with it.
  if (filter.status !== undefined) query.statuses = [filter.status];
  const limit = filter.limit ?? Number.POSITIVE_INFINITY;
  const seen = new Set<string>();
  const runs: CheckpointSummary[] = [];
  for await (const header of headersNewestFirst(conn, query)) {
    if (runs.length >= limit) break;
    if (seen.has(header.runId)) continue;
    seen.add(header.runId);
    const [head] = await conn.store.listByRun(header.runId, { limit: 1, onCorrupt });
    if (!head) continue;
    if (filter.status !== undefined && head.status !== filter.status) continue;
    if (filter.flowId !== undefined && head.flowId !== filter.flowId) continue;
    runs.push(head);
  }
  return runs;
}

/** The run's head id; `NotFoundError` (exit 3) when the run has no checkpoint, saying so when retention removed it. */
export async function requireHead(conn: Connection, runId: string): Promise<string> {
  const head = await conn.store.getHead(runId);
  if (head !== null) return head;
  const tombstone = await conn.store.removedByRetention(runId);
  if (tombstone) throw new RemovedByRetentionError(removedRunMessage(tombstone, { remedy: 'keep such runs longer with a larger --older-than or retentionDays.' }));
  throw new NotFoundError(`Run ${runId} not found in ${conn.spec.display}.`);
}
