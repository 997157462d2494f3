import type { HeaderQuery, HeaderRecord } from './storage-adapter.js';

/**
 * The contract's filter semantics in one place (filters are ANDed), for adapters that filter in
 * JavaScript rather than in their storage engine's own query language.
 */
export function matchesHeaderQuery(header: HeaderRecord, query: HeaderQuery): boolean {
  if (query.runId !== undefined && header.runId !== query.runId) return false;
  if (query.flowId !== undefined && header.flowId !== query.flowId) return false;
  if (query.statuses !== undefined && !query.statuses.includes(header.status)) return false;
  if (query.tenantId !== undefined && header.tenantId !== query.tenantId) return false;
  if (query.pendingInput !== undefined && header.pendingInput !== query.pendingInput) return false;
  if (query.beforeSeq !== undefined && !(header.seq < query.beforeSeq)) return false;
  if (query.beforeId !== undefined && !(header.id < query.beforeId)) return false;
  if (query.createdBefore !== undefined && !(header.createdAt < query.createdBefore)) return false;
  return true;
}
