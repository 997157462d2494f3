import { RunLockedError, uuidv7 } from '@savepoint/core';
import { appendEvent, cancelRecord, notifyInput } from '../bridge-inbox.js';
import { CliError } from '../errors.js';
import { requireHead } from '../run-listing.js';
import type { CommandContext } from './context.js';

const FINISHED = new Set(['completed', 'failed', 'canceled']);
const LEASE_TTL_MS = 30_000;

/**
 * Cancels a run without its workflow code. Nobody holds it (paused, waiting for input, or its worker died): its
 * head is marked `canceled` under a lease, so no worker can commit over it. A worker holds it: a cancel request
 * goes to the inbox, which a runtime-bridge worker acts on (`cancel_requested`); a worker without the bridge's
 * inbox channel cannot be reached (it keeps running until it stops by itself).
 */
export async function cancel(ctx: CommandContext, runId: string): Promise<number> {
  const conn = await ctx.connection();
  const { store, adapter } = conn;
  const head = await store.load(await requireHead(conn, runId));
  let outcome: { runId: string; status: string; checkpointId: string };
  if (FINISHED.has(head.status)) {
    outcome = { runId, status: head.status, checkpointId: head.id };
  } else {
    let lease;
    try {
      lease = await store.acquireLease(runId, `savepoint-cli:cancel:${uuidv7()}`, LEASE_TTL_MS);
    } catch (error) {
      if (!RunLockedError.isInstance(error)) throw error;
      if (!adapter.putInput) throw new CliError('OPERATION_FAILED', `Run ${runId} is held by a running worker and the ${conn.spec.kind} backend has no inbox to ask it to stop.`);
      await adapter.putInput(runId, cancelRecord(uuidv7(), Date.now()));
      await notifyInput(adapter, runId);
      outcome = { runId, status: 'cancel_requested', checkpointId: head.id };
    }
    if (lease) {
      try {
        const current = (await store.getHead(runId))!;
        const updated = await store.update(current, { status: 'canceled', pendingInputs: [] }, { lease });
        await appendEvent(adapter, store, runId, 'run_canceled', { by: 'savepoint-cli' });
        outcome = { runId, status: 'canceled', checkpointId: updated.id };
      } finally {
        await store.releaseLease(lease).catch(() => undefined);
      }
    }
  }
  const result = outcome!;
  ctx.output.result(result, () => [
    result.status === 'cancel_requested'
      ? `Run ${runId} is running in another process: a cancel request was sent to its inbox (a runtime-bridge worker stops it).`
      : result.status === 'canceled' && result.checkpointId !== head.id
        ? `Run ${runId} canceled (checkpoint ${result.checkpointId}).`
        : `Run ${runId} had already ended: ${result.status}.`,
  ]);
  return 0;
}
