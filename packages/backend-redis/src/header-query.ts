import type { HeaderQuery, HeaderRecord } from '@savepoint/core';
import type { KeySpace } from './key-space.js';

/** Where a query reads its candidates from, before every filter is checked on the headers themselves. */
export type QueryPlan =
  /** A run's seq index: ordered by seq. */
  | { kind: 'run'; runId: string; exact: boolean }
  /** The smallest of these cross-run indexes: ordered by id. */
  | { kind: 'index'; keys: string[]; exact: boolean };

/**
 * Picks the indexes a query can read. `exact` says the chosen index alone answers the query, so a page can
 * be exactly as long as the limit; otherwise pages are larger and the other filters drop candidates.
 */
export function planQuery(keys: KeySpace, query: HeaderQuery): QueryPlan {
  if (query.runId !== undefined) {
    const residual = [query.flowId, query.statuses, query.tenantId, query.pendingInput, query.beforeId, query.createdBefore];
    return { kind: 'run', runId: query.runId, exact: residual.every((filter) => filter === undefined) };
  }
  const indexed: string[] = [];
  if (query.flowId !== undefined) indexed.push(keys.flow(query.flowId));
  if (typeof query.tenantId === 'string') indexed.push(keys.tenant(query.tenantId));
  if (query.pendingInput === true) indexed.push(keys.pending);
  // No index answers these: statuses (no store query filters on one status alone), headers without a tenant.
  const unindexed =
    query.statuses !== undefined ||
    query.tenantId === null ||
    query.pendingInput === false ||
    query.beforeSeq !== undefined ||
    query.createdBefore !== undefined;
  return {
    kind: 'index',
    keys: indexed.length > 0 ? indexed : [keys.all],
    exact: indexed.length <= 1 && !unindexed,
  };
}

