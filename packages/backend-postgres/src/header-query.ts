import type { HeaderQuery } from '@savepoint/core';
import { sql, type RawBuilder } from 'kysely';
import { HEADER_COLUMNS, type HeaderRow } from './header-row.js';

/**
 * Turns a `HeaderQuery` into one SELECT. Values are always bound; only fixed fragments are concatenated, so
 * the set of distinct SQL texts stays small. Each filter shape has an index (see the initial migration).
 */
export function headerQuery(table: RawBuilder<unknown>, query: HeaderQuery): RawBuilder<HeaderRow> {
  const where: RawBuilder<unknown>[] = [];
  if (query.flowId !== undefined) where.push(sql`flow_id = ${query.flowId}`);
  if (query.runId !== undefined) where.push(sql`run_id = ${query.runId}`);
  if (query.statuses !== undefined) {
    // An empty status list matches nothing, as a filter over no allowed values should.
    where.push(query.statuses.length === 0 ? sql`false` : sql`status = ANY(${[...query.statuses]}::text[])`);
  }
  if (query.tenantId === null) where.push(sql`tenant_id IS NULL`);
  else if (query.tenantId !== undefined) where.push(sql`tenant_id = ${query.tenantId}`);
  // Bare boolean predicates, so the partial index on pending checkpoints matches.
  if (query.pendingInput !== undefined) where.push(query.pendingInput ? sql`pending_input` : sql`NOT pending_input`);
  // seq is an integer column: `seq < x` equals `seq < ceil(x)`, and an integer parameter keeps the index usable.
  if (query.beforeSeq !== undefined) where.push(sql`seq < ${Math.ceil(query.beforeSeq)}`);
  if (query.beforeId !== undefined) where.push(sql`id < ${query.beforeId}`);
  if (query.createdBefore !== undefined) where.push(sql`created_at < ${query.createdBefore}`);

  // Inside a run, seq is the logical clock; across runs, UUIDv7 ids sort by creation.
  const order = sql.raw(`${query.runId !== undefined ? 'seq' : 'id'} ${query.order === 'asc' ? 'ASC' : 'DESC'}`);
  const filter = where.length > 0 ? sql` WHERE ${sql.join(where, sql` AND `)}` : sql``;
  const limit = query.limit !== undefined ? sql` LIMIT ${Math.max(0, Math.floor(query.limit))}` : sql``;
  return sql<HeaderRow>`SELECT ${HEADER_COLUMNS} FROM ${table}${filter} ORDER BY ${order}${limit}`;
}
