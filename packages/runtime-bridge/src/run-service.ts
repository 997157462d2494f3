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
import { CANCEL_PATH, type InboxAdapter } from './inbox-channel.js';
import type { Principal } from './principal.js';
import { removedRunError } from './removed-runs.js';
import { startedByOf, STARTED_BY, type RunAccess, type RunAccessPolicy, type RunAction } from './run-access.js';
import { publicRunId, scopedRunId } from './run-ids.js';
import { FIRST_CHECKPOINT, type RunRegistry } from './run-registry.js';
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

export interface RunListItem {
  runId: string;
  workflow: string;
  status: CheckpointStatus;
  pendingInputs: PendingInputContext[];
  updatedAt: Date;
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
}

/** A run found in storage that the principal may see: `runId` is its id in storage, `publicId` the caller's. */
interface Located {
  runId: string;
  publicId: string;
  head: HeaderRecord;
  entry: CatalogEntry;
}

const LIST_PAGE = 200;
const LIST_MAX_SCAN = 5_000;

/**
 * What the routes and the WebSocket do, independent of the transport. Every method is scoped to the
 * principal's tenant: a run of another tenant is indistinguishable from a run that does not exist.
 */
export class RunService {
  private readonly intake: AnswerIntake;

  constructor(private readonly options: RunServiceOptions) {
    this.intake = new AnswerIntake(options);
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

  /** The tenant's runs the principal may read (`mine`: only those it started), newest first. */
  async list(
    principal: Principal,
    query: { status?: CheckpointStatus | undefined; workflow?: string | undefined; mine?: boolean | undefined; limit: number },
  ): Promise<RunListItem[]> {
    const entries = query.workflow === undefined ? this.options.catalog.all() : [this.entryNamed(query.workflow)];
    const lists = await Promise.all(entries.map((entry) => this.listOf(entry, principal, query)));
    return lists
      .flat()
      .sort((a, b) => b.updatedAt.getTime() - a.updatedAt.getTime())
      .slice(0, query.limit);
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
   * Cancels a run wherever it is: here (abort), nowhere (mark the head canceled under a lease), or in
   * another process (a cancel request in the inbox, acted on by that worker's live input channel).
   */
  async cancel(principal: Principal, publicId: string): Promise<{ runId: string; status: CheckpointStatus | 'cancel_requested' }> {
    const { registry, adapter, feed, events, workerId, leaseTtlMs } = this.options;
    const located = await this.locate(principal, publicId, 'cancel');
    const { runId, entry } = located;
    let { head } = located;
    // An execution here may have paused (or finished) just before the abort reached it: then the head says so.
    if (await registry.cancel(runId)) head = (await this.locate(principal, publicId, 'read')).head;
    if (FINISHED.has(head.status)) return { runId: publicId, status: head.status };
    let lease;
    try {
      lease = await entry.store.acquireLease(runId, `${workerId}:cancel:${uuidv7()}`, leaseTtlMs);
    } catch (error) {
      if (!RunLockedError.isInstance(error)) throw error;
      await adapter.putInput(runId, { key: `cancel.${uuidv7()}`, nodePath: CANCEL_PATH, value: 'null', createdAt: Date.now() });
      await feed.notify({ runId, kind: 'input' });
      return { runId: publicId, status: 'cancel_requested' };
    }
    try {
      const headId = (await adapter.getHead(runId))!;
      await entry.store.update(headId, { status: 'canceled', pendingInputs: [] }, { lease });
      events.append({ runId, type: 'run_canceled', data: { by: principal.userId }, ts: Date.now() }, entry.store);
    } finally {
      await entry.store.releaseLease(lease).catch(() => undefined);
    }
    return { runId: publicId, status: 'canceled' };
  }

  async checkpoints(principal: Principal, publicId: string, limit: number): Promise<CheckpointSummary[]> {
    const { runId, entry } = await this.locate(principal, publicId, 'read');
    const summaries = await entry.store.listByRun(runId, { limit, tenantId: principal.tenantId });
    return summaries.map((summary) => ({ ...summary, runId: publicId }));
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

  private entryNamed(name: string): CatalogEntry {
    const entry = this.options.catalog.byName(name);
    if (!entry) throw new InvalidArgumentError(`Unknown workflow "${name}".`);
    return entry;
  }

  /** Run heads of one workflow, newest first: the pending_input index when asked for it, else a bounded scan. */
  private async listOf(
    entry: CatalogEntry,
    principal: Principal,
    { status, mine, limit }: { status?: CheckpointStatus | undefined; mine?: boolean | undefined; limit: number },
  ): Promise<RunListItem[]> {
    const { adapter, access } = this.options;
    const { tenantId, userId } = principal;
    const toItem = (s: CheckpointSummary): RunListItem => ({
      runId: publicRunId(tenantId, s.runId),
      workflow: entry.name,
      status: s.status,
      pendingInputs: s.pendingInputs,
      updatedAt: s.updatedAt,
    });
    const ours = (s: CheckpointSummary) => s.workflowId === entry.workflow.id;
    const shown = async (s: CheckpointSummary) => {
      const startedBy = startedByOf(s.metadata);
      if (mine && startedBy !== userId) return false;
      return access.mayRead(principal, { runId: publicRunId(tenantId, s.runId), workflow: entry.name, tenantId, startedBy });
    };
    const flowId = entry.workflow.flow.id;
    if (status === 'pending_input') {
      // Filtered listings look further, so `limit` counts the runs shown, not the runs read.
      const filtered = mine === true || access.restricts;
      const heads = (await entry.store.listPendingInput({ flowId, tenantId, limit: filtered ? LIST_MAX_SCAN : limit })).filter(ours);
      const out: RunListItem[] = [];
      for (const head of heads) {
        if (out.length >= limit) break;
        if (await shown(head)) out.push(toItem(head));
      }
      return out;
    }
    const out: RunListItem[] = [];
    const seen = new Set<string>();
    let beforeId: string | undefined;
    for (let scanned = 0; out.length < limit && scanned < LIST_MAX_SCAN; ) {
      const page = await entry.store.listByFlow(flowId, {
        tenantId,
        limit: LIST_PAGE,
        ...(status === undefined ? {} : { statuses: [status] }),
        ...(beforeId === undefined ? {} : { beforeId }),
      });
      for (const summary of page) {
        if (out.length >= limit) break;
        if (!ours(summary) || seen.has(summary.runId)) continue;
        seen.add(summary.runId);
        if ((await adapter.getHead(summary.runId)) === summary.id && (await shown(summary))) out.push(toItem(summary));
      }
      scanned += page.length;
      if (page.length < LIST_PAGE) break;
      beforeId = page[page.length - 1]!.id;
    }
    return out;
  }
}

/** Where a caller's run id may be stored: within its tenant (an id it chose), else as it is (a generated one). */
function storedIdsOf(principal: Principal, publicId: string): string[] {
  return [scopedRunId(principal.tenantId, publicId), publicId].filter((runId) => isSafeId(runId));
}
