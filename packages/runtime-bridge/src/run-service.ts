import {
  CheckpointConflictError,
  InvalidArgumentError,
  isSafeId,
  NotFoundError,
  RunLockedError,
  uuidv7,
  type CheckpointStatus,
  type CheckpointSummary,
  type FlowCheckpoint,
  type HeaderRecord,
  type PendingInputContext,
  type StorageAdapter,
} from '@savepoint/core';
import { AnswerIntake, type Answer } from './answer-intake.js';
import type { ChangeFeed } from './change-feed.js';
import type { DeliveryGuard } from './delivery-guard.js';
import type { EventLog, FollowTarget } from './event-log.js';
import type { InboxAdapter } from './inbox-channel.js';
import type { Principal } from './principal.js';
import { removedRunError } from './removed-runs.js';
import { startedByOf, STARTED_BY, type RunAccess, type RunAccessPolicy, type RunAction } from './run-access.js';
import { scopedRunId } from './run-ids.js';
import { RunListing, type RunListQuery, type RunPage } from './run-listing.js';
import { FIRST_CHECKPOINT, type RunRegistry } from './run-registry.js';
import { RunStopper } from './run-stopper.js';
import { checkedRunInput, checkedRunOutput } from './edge-schemas.js';
import { FINISHED } from './run-status.js';
import type { CatalogEntry, WorkflowCatalog } from './workflow-catalog.js';

export type RuntimeAdapter = StorageAdapter & InboxAdapter & Required<Pick<StorageAdapter, 'appendEvents' | 'readEvents'>>;

export interface RunView {
  runId: string;
  workflow: string;
  /** The run head's status: `active` (running, or its worker died and a reaper will resume it), `pending_input`, `completed`, `failed`, `canceled`. */
  status: CheckpointStatus;
  output?: unknown;
  error?: { name: string; message: string; code?: string };
  pendingInputs: PendingInputContext[];
  checkpointId: string;
  updatedAt: Date;
}

export type { RunListItem } from './run-listing.js';

/** What `DELETE /runs/:id` did. */
export interface DeletedRun {
  runId: string;
  deleted: true;
  /** Whether the run was still going (active, paused or waiting for input) and was canceled first. */
  canceled: boolean;
  /** Checkpoints removed, with every blob of the run. */
  deletedCheckpoints: number;
}

/** One page of a run's checkpoints; `next` (a seq) is where the following page starts, undefined at the end. */
export interface CheckpointPage {
  checkpoints: CheckpointSummary[];
  next: number | undefined;
}

export interface RunServiceOptions {
  catalog: WorkflowCatalog;
  adapter: RuntimeAdapter;
  registry: RunRegistry;
  events: EventLog;
  feed: ChangeFeed;
  guard: DeliveryGuard;
  workerId: string;
  leaseTtlMs: number;
  access: RunAccessPolicy;
  /** Pause between attempts to take a run another process holds. */
  pollMs: number;
  /** How long a delete waits for another process to stop a run it holds. */
  deleteTimeoutMs: number;
}

/** A run found in storage that the principal may see: `runId` is its id in storage, `publicId` the caller's. */
interface Located {
  runId: string;
  publicId: string;
  head: HeaderRecord;
  entry: CatalogEntry;
}

/** Headers read per query when counting a run's checkpoints. */
const COUNT_PAGE = 500;

/**
 * What the routes and the WebSocket do, independent of the transport. Every method is scoped to the
 * principal's tenant: a run of another tenant is indistinguishable from a run that does not exist.
 */
export class RunService {
  private readonly intake: AnswerIntake;
  private readonly listing: RunListing;
  private readonly stopper: RunStopper;

  constructor(private readonly options: RunServiceOptions) {
    this.intake = new AnswerIntake(options);
    this.listing = new RunListing(options);
    this.stopper = new RunStopper(options);
  }

  async start(
    principal: Principal,
    body: { workflow: string; input?: unknown; runId?: string | undefined; metadata?: Record<string, unknown> | undefined },
  ): Promise<{ runId: string; status: CheckpointStatus }> {
    const { catalog, registry } = this.options;
    const entry = catalog.byName(body.workflow);
    if (!entry) {
      const known = catalog.all().map((e) => `"${e.name}"`).join(', ');
      throw new InvalidArgumentError(`Unknown workflow "${body.workflow}"; this server runs ${known}.`);
    }
    const { tenantId, userId } = principal;
    const publicId = body.runId ?? uuidv7();
    await this.options.access.check(principal, { runId: publicId, workflow: entry.name, tenantId, startedBy: userId }, 'start');
    const input = await checkedRunInput(entry.name, entry.workflow, body.input);
    const runId = body.runId === undefined ? publicId : scopedRunId(tenantId, body.runId);
    if (!isSafeId(runId)) throw new InvalidArgumentError('runId must be 1-200 characters of A-Z a-z 0-9 . _ : - (and not "." or "..").');
    if (registry.has(runId) || (await this.find(principal, publicId)) !== undefined) {
      throw new CheckpointConflictError(`Run ${publicId} already exists; pick another runId or resume that run.`);
    }
    // Events and answers outlive a deleted (or retention-removed) run: a new run under its id would replay them.
    if (body.runId !== undefined && (await this.options.adapter.readEvents(runId, 0, 1)).length > 0) {
      throw new CheckpointConflictError(`Run id ${publicId} belonged to a run that was deleted (or removed by retention); its event log remains, so pick another runId.`);
    }
    // The codec refuses what it cannot store (too deep...): a 400 now, not a run that fails after its 202.
    entry.store.sealPayload(input);
    const { workflow } = entry;
    // Who started the run travels in its checkpoints' metadata: every process (and every resume) sees it, sealed
    // like the rest; it is set last so a client's metadata cannot claim another starter.
    const metadata = { ...body.metadata, [STARTED_BY]: userId };
    // The raw input again: core checks it itself, and zod's output need not pass the schema a second time.
    await registry.launch(runId, workflow, (context) => workflow.run(body.input, { runId, tenantId, metadata, checkpointOnStart: true, ...context }));
    return { runId: publicId, status: 'active' };
  }

  /** The tenant's runs the principal may read (`mine`: only those it started), newest first; see RunListing. */
  list(principal: Principal, query: RunListQuery): Promise<RunPage> {
    return this.listing.list(principal, query);
  }

  async get(principal: Principal, runId: string): Promise<RunView> {
    const { head, entry } = await this.locate(principal, runId, 'read');
    const checkpoint = await entry.store.load(head.id, { tenantId: principal.tenantId });
    const { status, nodeStates } = checkpoint;
    const failedNode = Object.values(nodeStates).find((state) => state.status === 'failure');
    const checked = status === 'completed' || (status === 'failed' && !failedNode) ? await checkedRunOutput(entry.workflow, nodeStates) : undefined;
    const error = failedNode?.error ?? checked?.error;
    return {
      runId,
      workflow: entry.name,
      status,
      ...(status === 'completed' ? { output: checked!.output } : {}),
      ...(status === 'failed' && error ? { error } : {}),
      pendingInputs: checkpoint.pendingInputs,
      checkpointId: checkpoint.id,
      updatedAt: checkpoint.updatedAt,
    };
  }

  /** Checks that the principal may read the run's events; names the stream the EventLog follows. */
  async open(principal: Principal, runId: string): Promise<FollowTarget> {
    const { runId: storedId, publicId, entry } = await this.locate(principal, runId, 'read');
    return { runId: storedId, publicId, store: entry.store };
  }

  /**
   * Stores answers in the inbox, each bound to one question (see AnswerIntake), then makes sure they reach
   * the run: a live worker takes them, otherwise the run is resumed here. A retry with the Idempotency-Key
   * of an accepted request gets the same answer without storing or delivering anything again.
   */
  async postInput(principal: Principal, runId: string, answers: readonly Answer[], idempotencyKey: string): Promise<{ accepted: true; runId: string }> {
    const located = await this.locate(principal, runId, 'answer');
    await this.intake.post(located, answers, idempotencyKey);
    return { accepted: true, runId: located.publicId };
  }

  /** Explicit resume: the run's head, or `checkpointId` (time travel: a fork with a new runId unless it is the head). */
  async resume(
    principal: Principal,
    publicId: string,
    body: { checkpointId?: string | undefined; input?: Record<string, unknown> | undefined; requestIds?: Record<string, string> | undefined },
  ): Promise<{ runId: string }> {
    const { registry } = this.options;
    const { runId, head, entry } = await this.locate(principal, publicId, 'resume');
    const { workflow } = entry;
    const tenantId = principal.tenantId;
    const input = body.input ?? {};
    const requestIds = body.requestIds === undefined ? {} : { requestIds: body.requestIds };
    if (body.checkpointId === undefined || body.checkpointId === head.id) {
      if (registry.has(runId)) throw new RunLockedError(`Run ${publicId} is running; wait for it to pause or finish.`);
      await registry.launch(runId, workflow, (context) => workflow.resume({ runId, input, ...requestIds, tenantId, ...context }));
      return { runId: publicId };
    }
    await this.checkpointOf(entry, principal, { runId, publicId }, body.checkpointId);
    const forkRunId = uuidv7();
    const checkpointId = body.checkpointId;
    // The fork's first checkpoint is committed before the first node, and the answer waits for it: the new
    // runId is visible to GET, event streams and WebSocket subscribers (in every process) once we answer.
    await registry.launch(
      forkRunId,
      workflow,
      (context) => workflow.resume({ checkpointId, forkRunId, input, ...requestIds, tenantId, checkpointOnStart: true, ...context }),
      FIRST_CHECKPOINT,
    );
    return { runId: forkRunId };
  }

  /**
   * Cancels a run wherever it is: here (abort), nowhere (mark the head canceled under a lease), or in another process
   * (a cancel request, see RunStopper): then `cancel_requested`.
   */
  async cancel(principal: Principal, publicId: string): Promise<{ runId: string; status: CheckpointStatus | 'cancel_requested' }> {
    const { registry } = this.options;
    const located = await this.locate(principal, publicId, 'cancel');
    const { runId, entry } = located;
    let { head } = located;
    // An execution here may have paused (or finished) just before the abort reached it: then the head says so.
    if (await registry.cancel(runId)) head = (await this.locate(principal, publicId, 'read')).head;
    if (FINISHED.has(head.status)) return { runId: publicId, status: head.status };
    const lease = await this.stopper.claim(entry, runId, 'cancel');
    if (!lease) {
      await this.stopper.requestCancel(runId);
      return { runId: publicId, status: 'cancel_requested' };
    }
    try {
      return { runId: publicId, status: await this.stopper.markCanceled(entry, runId, lease, principal.userId) };
    } finally {
      await this.stopper.release(entry, lease);
    }
  }

  /**
   * Cancels the run if it is still going (as `cancel` does, waiting a bounded time for another process holding it), then
   * deletes its checkpoints and blobs under its lease. Its event log and inbox records stay: the adapter API deletes
   * neither; the run's id answers 404 and cannot be given to a new run.
   */
  async delete(principal: Principal, publicId: string): Promise<DeletedRun> {
    const { adapter, events, deleteTimeoutMs } = this.options;
    const { runId, entry, head } = await this.locate(principal, publicId, 'delete');
    const lease = await this.stopper.stop(entry, runId, publicId, deleteTimeoutMs);
    try {
      const headId = await adapter.getHead(runId);
      const current = headId === null ? null : await adapter.getHeader(headId);
      // Nobody executes the run now: an unfinished head (paused, waiting, a dead worker's) ends here, and followers hear it.
      if (current && !FINISHED.has(current.status)) events.append({ runId, type: 'run_canceled', data: { by: principal.userId }, ts: Date.now() }, entry.store);
      const deletedCheckpoints = await countCheckpoints(adapter, runId);
      await entry.store.deleteRun(runId);
      return { runId: publicId, deleted: true, canceled: !FINISHED.has(head.status), deletedCheckpoints };
    } finally {
      await this.stopper.release(entry, lease);
    }
  }

  /** The run's checkpoints, newest first (by seq), below `after`; one more than a page is read to know whether another follows. */
  async checkpoints(principal: Principal, publicId: string, { limit, after }: { limit: number; after?: number | undefined }): Promise<CheckpointPage> {
    const { runId, entry } = await this.locate(principal, publicId, 'read');
    const summaries = await entry.store.listByRun(runId, { limit: limit + 1, tenantId: principal.tenantId, ...(after === undefined ? {} : { beforeSeq: after }) });
    const checkpoints = summaries.slice(0, limit).map((summary) => ({ ...summary, runId: publicId }));
    return { checkpoints, next: summaries.length > limit ? checkpoints[limit - 1]!.seq : undefined };
  }

  async checkpoint(principal: Principal, publicId: string, checkpointId: string): Promise<FlowCheckpoint> {
    const located = await this.locate(principal, publicId, 'read');
    return { ...(await this.checkpointOf(located.entry, principal, located, checkpointId)), runId: publicId };
  }

  /**
   * The run's head and workflow, or NotFound for a run that is missing, another tenant's, not served here, or not
   * readable by the principal (`RemovedByRetentionError` when retention removed the tenant's run); 403 when it may
   * read the run but not do `action`.
   */
  private async locate(principal: Principal, publicId: string, action: RunAction): Promise<Located> {
    const located = await this.find(principal, publicId);
    if (!located) throw (await this.removed(principal, publicId)) ?? new NotFoundError(`Run ${publicId} was not found.`);
    const { access } = this.options;
    if (access.restricts) await access.check(principal, await this.describe(principal, located), action);
    return located;
  }

  /** What the authorize hook sees of a located run; who started it is in its newest checkpoint's metadata. */
  private async describe(principal: Principal, { runId, publicId, entry }: Located): Promise<RunAccess> {
    const [latest] = await entry.store.listByRun(runId, { limit: 1, tenantId: principal.tenantId });
    return { runId: publicId, workflow: entry.name, tenantId: principal.tenantId, startedBy: latest ? startedByOf(latest.metadata) : undefined };
  }

  /** The caller's id within its tenant (a runId it chose), else as stored (a generated one), if it is the caller's. */
  private async find(principal: Principal, publicId: string): Promise<Located | undefined> {
    for (const runId of storedIdsOf(principal, publicId)) {
      const located = await this.stored(principal, runId, publicId);
      if (located) return located;
    }
    return undefined;
  }

  /**
   * Why the tenant's run is gone, when retention removed it. Not with an `authorize` hook: who started the run went
   * with its checkpoints, so the hook cannot be asked whether the principal may know of it.
   */
  private async removed(principal: Principal, publicId: string) {
    const { access, catalog } = this.options;
    if (access.restricts) return undefined;
    // Every workflow's store is on the runtime's backend, so any of them reads the record.
    return removedRunError(catalog.all()[0]!.store, principal.tenantId, storedIdsOf(principal, publicId), publicId);
  }

  private async stored(principal: Principal, runId: string, publicId: string): Promise<Located | undefined> {
    const { adapter, catalog } = this.options;
    const headId = await adapter.getHead(runId);
    const head = headId === null ? null : await adapter.getHeader(headId);
    if (!head || (head.tenantId ?? null) !== principal.tenantId) return undefined;
    const entry = catalog.byId(head.workflowId);
    return entry ? { runId, publicId, head, entry } : undefined;
  }

  /** The run's checkpoint `checkpointId`; the error names the run by the id the caller knows. */
  private async checkpointOf(
    entry: CatalogEntry,
    principal: Principal,
    { runId, publicId }: Pick<Located, 'runId' | 'publicId'>,
    checkpointId: string,
  ): Promise<FlowCheckpoint> {
    const missing = new NotFoundError(`Checkpoint ${checkpointId} of run ${publicId} was not found.`);
    if (!isSafeId(checkpointId)) throw missing;
    let checkpoint: FlowCheckpoint;
    try {
      checkpoint = await entry.store.load(checkpointId, { tenantId: principal.tenantId });
    } catch (error) {
      if (NotFoundError.isInstance(error)) throw missing;
      throw error;
    }
    if (checkpoint.runId !== runId) throw missing;
    return checkpoint;
  }
}

/** Where a caller's run id may be stored: within its tenant (an id it chose), else as it is (a generated one). */
function storedIdsOf(principal: Principal, publicId: string): string[] {
  return [scopedRunId(principal.tenantId, publicId), publicId].filter((runId) => isSafeId(runId));
}

/** How many checkpoints the run has, read a page of headers at a time. */
async function countCheckpoints(adapter: StorageAdapter, runId: string): Promise<number> {
  let count = 0;
  let beforeSeq: number | undefined;
  for (;;) {
    const page = await adapter.queryHeaders({ runId, order: 'desc', limit: COUNT_PAGE, ...(beforeSeq === undefined ? {} : { beforeSeq }) });
    count += page.length;
    if (page.length < COUNT_PAGE) return count;
    beforeSeq = page[page.length - 1]!.seq;
  }
}
