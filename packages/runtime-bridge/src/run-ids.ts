import { createHash } from 'node:crypto';

/**
 * Run ids clients choose are per tenant. `POST /runs { runId: 'invoice-42' }` stores the run as
 * `t.<tenant hash>.invoice-42`, so two tenants may both own an `invoice-42`, and whether another tenant
 * has one can neither be observed (no 409 oracle) nor squatted. Ids the server generates (UUIDv7) are
 * stored as they are; every route resolves a caller's id within its tenant first, then as a stored id.
 * Clients only ever see their own id: the prefix is removed from everything the runtime answers.
 */
export function tenantPrefix(tenantId: string): string {
  return `t.${createHash('sha256').update(tenantId).digest('hex').slice(0, 32)}.`;
}

/** Where a client-chosen run id is stored for this tenant. */
export function scopedRunId(tenantId: string, runId: string): string {
  return `${tenantPrefix(tenantId)}${runId}`;
}

/** The id a tenant knows a stored run by. */
export function publicRunId(tenantId: string, storedId: string): string {
  const prefix = tenantPrefix(tenantId);
  return storedId.startsWith(prefix) ? storedId.slice(prefix.length) : storedId;
}
