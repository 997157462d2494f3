import type { HeaderQuery } from '@savepoint/core';
import { HEADER_COLUMNS } from './header-row.js';

export interface BuiltQuery {
  sql: string;
  params: unknown[];
}

/**
 * Turns a `HeaderQuery` into one SELECT. Values are always bound; only fixed SQL fragments are
 * concatenated, so the number of distinct SQL strings stays small and their statements can be cached.
 */
export function buildHeaderQuery(table: string, query: HeaderQuery): BuiltQuery {
  const where: string[] = [];
  const params: unknown[] = [];
  const filter = (clause: string, ...values: unknown[]) => {
    where.push(clause);
    params.push(...values);
  };

  if (query.flowId !== undefined) filter('flow_id = ?', query.flowId);
  if (query.runId !== undefined) filter('run_id = ?', query.runId);
  if (query.statuses !== undefined) {
    // An empty status list matches nothing, as a filter over no allowed values should.
    filter(query.statuses.length === 0 ? '0' : `status IN (${query.statuses.map(() => '?').join(', ')})`, ...query.statuses);
  }
  if (query.tenantId === null) filter('tenant_id IS NULL');
  else if (query.tenantId !== undefined) filter('tenant_id = ?', query.tenantId);
  // A literal, not a bound value: only then can SQLite use the partial index of waiting headers.
  if (query.pendingInput !== undefined) filter(query.pendingInput ? 'pending_input = 1' : 'pending_input = 0');
  if (query.beforeSeq !== undefined) filter('seq < ?', query.beforeSeq);
  if (query.beforeId !== undefined) filter('id < ?', query.beforeId);
  if (query.createdBefore !== undefined) filter('created_at < ?', query.createdBefore);

  // Inside a run, seq is the logical clock; across runs, UUIDv7 ids sort by creation.
  const orderColumn = query.runId !== undefined ? 'seq' : 'id';
  const direction = query.order === 'asc' ? 'ASC' : 'DESC';
  let sql = `SELECT ${HEADER_COLUMNS} FROM ${table}`;
  if (where.length > 0) sql += ` WHERE ${where.join(' AND ')}`;
  sql += ` ORDER BY ${orderColumn} ${direction}`;
  if (query.limit !== undefined) {
    sql += ' LIMIT ?';
    params.push(query.limit);
  }
  return { sql, params };
}
