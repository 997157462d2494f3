import { RunLockedError, uuidv7, type Lease } from '@savepoint/core';
import { appendEvent, cancelRecord, notifyInput } from '../bridge-inbox.js';
import type { Connection } from '../connect.js';
import { CliError } from '../errors.js';
import { requireHead } from '../run-listing.js';
import type { CommandContext } from './context.js';

const FINISHED = new Set(['completed', 'failed', 'canceled']);
const LEASE_TTL_MS = 30_000;

interface Outcome {
  runId: string;
  status: string;
  checkpointId: string;
}

/**
 * Cancels a run without its workflow code. Nobody holds it (paused, waiting for input, or its worker died): its
 * head is marked `canceled` under a lease, so no worker can commit over it. A worker holds it: a cancel request
 * goes to the inbox, which a runtime-bridge worker acts on (`cancel_requested`); a worker without the bridge's
 * inbox channel cannot be reached (it keeps running until it stops by itself).
 */
export async function cancel(ctx: CommandContext, runId: string): Promise<void> {
  const conn = await ctx.connection();
  const head = await conn.store.load(await requireHead(conn, runId));
  const outcome: Outcome = FINISHED.has(head.status) ? { runId, status: head.status, checkpointId: head.id } : await cancelUnfinished(conn, runId);
  ctx.output.result(outcome, () => [
    outcome.status === 'cancel_requested'
      ? `Run ${runId} is running in another process: a cancel request was sent to its inbox (a runtime-bridge worker stops it).`
      : outcome.status === 'canceled' && outcome.checkpointId !== head.id
        ? `Run ${runId} canceled (checkpoint ${outcome.checkpointId}).`
        : `Run ${runId} had already ended: ${outcome.status}.`,
  ]);
}

async function cancelUnfinished(conn: Connection, runId: string): Promise<Outcome> {
  const { store, adapter } = conn;
  let lease: Lease;
  try {
    lease = await store.acquireLease(runId, `savepoint-cli:cancel:${uuidv7()}`, LEASE_TTL_MS);
  } catch (error) {
    if (!RunLockedError.isInstance(error)) throw error;
    if (!adapter.putInput) throw new CliError('OPERATION_FAILED', `Run ${runId} is held by a running worker and the ${conn.spec.kind} backend has no inbox to ask it to stop.`);
    await adapter.putInput(runId, cancelRecord(uuidv7(), Date.now()));
    await notifyInput(adapter, runId);
    return { runId, status: 'cancel_requested', checkpointId: (await store.getHead(runId))! };
  }
  try {
    // Read under the lease: a worker may have moved the run on (or finished it) since the head was loaded.
    const current = await store.load((await store.getHead(runId))!);
    if (FINISHED.has(current.status)) return { runId, status: current.status, checkpointId: current.id };
    const updated = await store.update(current.id, { status: 'canceled', pendingInputs: [] }, { lease });
    await appendEvent(adapter, store, runId, 'run_canceled', { by: 'savepoint-cli' });
    return { runId, status: 'canceled', checkpointId: updated.id };
  } finally {
    await store.releaseLease(lease).catch(() => undefined);
  }
}
