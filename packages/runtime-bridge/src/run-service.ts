import {
  CheckpointConflictError,
  InvalidArgumentError,
  InvalidResumeInputError,
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
import type { ChangeFeed } from './change-feed.js';
import type { DeliveryGuard } from './delivery-guard.js';
import type { EventLog } from './event-log.js';
import { CANCEL_PATH, type InboxAdapter } from './inbox-channel.js';
import type { Principal } from './principal.js';
import { FIRST_CHECKPOINT, type RunRegistry } from './run-registry.js';
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
}

/** A run found in storage that the principal may see. */
interface Located {
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
  constructor(private readonly options: RunServiceOptions) {}

  async start(principal: Principal, body: { workflow: string; input?: unknown; runId?: string | undefined }): Promise<{ runId: string; status: CheckpointStatus }> {
    const { catalog, adapter, registry } = this.options;
    const entry = catalog.byName(body.workflow);
    if (!entry) {
      const known = catalog.all().map((e) => `"${e.name}"`).join(', ');
      throw new InvalidArgumentError(`Unknown workflow "${body.workflow}"; this server runs ${known}.`);
    }
    const runId = body.runId ?? uuidv7();
    if (!isSafeId(runId)) throw new InvalidArgumentError('runId must be 1-256 characters of A-Z a-z 0-9 . _ : - (and not "." or "..").');
    if (registry.has(runId) || (await adapter.getHead(runId)) !== null) {
      throw new CheckpointConflictError(`Run ${runId} already exists; pick another runId or resume that run.`);
    }
    const { workflow } = entry;
    await registry.launch(runId, workflow, (context) =>
      workflow.run(body.input, { runId, tenantId: principal.tenantId, checkpointOnStart: true, ...context }),
    );
    return { runId, status: 'active' };
  }

  async list(principal: Principal, query: { status?: CheckpointStatus | undefined; workflow?: string | undefined; limit: number }): Promise<RunListItem[]> {
    const entries = query.workflow === undefined ? this.options.catalog.all() : [this.entryNamed(query.workflow)];
    const lists = await Promise.all(entries.map((entry) => this.listOf(entry, principal.tenantId, query.status, query.limit)));
    return lists
      .flat()
      .sort((a, b) => b.updatedAt.getTime() - a.updatedAt.getTime())
      .slice(0, query.limit);
  }

  async get(principal: Principal, runId: string): Promise<RunView> {
    const { head, entry } = await this.locate(principal, runId);
    const checkpoint = await entry.store.load(head.id, { tenantId: principal.tenantId });
    const failed = Object.values(checkpoint.nodeStates).find((state) => state.status === 'failure');
    return {
      runId,
      workflow: entry.name,
      status: checkpoint.status,
      ...(checkpoint.status === 'completed' ? { output: entry.workflow.flow.outputOf(checkpoint.nodeStates) } : {}),
      ...(checkpoint.status === 'failed' && failed?.error ? { error: failed.error } : {}),
      pendingInputs: checkpoint.pendingInputs,
      checkpointId: checkpoint.id,
      updatedAt: checkpoint.updatedAt,
    };
  }

  /** Checks that the principal may read the run's events (the stream itself is the EventLog's). */
  async open(principal: Principal, runId: string): Promise<void> {
    await this.locate(principal, runId);
  }

  /**
   * Stores answers in the inbox (once per idempotency key) after validating them against the waiting
   * nodes' schemas, then makes sure they reach the run: a live worker takes them, otherwise the run is
   * resumed here. A key seen before returns the first result without validating or delivering again.
   */
  async postInput(principal: Principal, runId: string, input: Record<string, unknown>, idempotencyKey: string): Promise<{ accepted: true; runId: string }> {
    const { adapter, feed, guard } = this.options;
    const { head, entry } = await this.locate(principal, runId);
    const nodePaths = Object.keys(input).sort();
    const keys = nodePaths.map((_, i) => (nodePaths.length === 1 ? idempotencyKey : `${idempotencyKey}.${i}`));
    if ((await adapter.getInput(runId, keys[0]!)) !== null) return { accepted: true, runId };
    if (FINISHED.has(head.status)) throw new CheckpointConflictError(`Run ${runId} is ${head.status}; it takes no more answers.`);
    await this.validateAnswers(head, entry, input);
    const createdAt = Date.now();
    const stored = await Promise.all(
      nodePaths.map((nodePath, i) =>
        adapter.putInput(runId, { key: keys[i]!, nodePath, value: JSON.stringify(input[nodePath] ?? null), createdAt }),
      ),
    );
    if (stored.some((s) => s.created)) {
      await feed.notify({ runId, kind: 'input' });
      guard.track(runId, entry, keys);
    }
    return { accepted: true, runId };
  }

  /** Explicit resume: the run's head, or `checkpointId` (time travel: a fork with a new runId unless it is the head). */
  async resume(principal: Principal, runId: string, body: { checkpointId?: string | undefined; input?: Record<string, unknown> | undefined }): Promise<{ runId: string }> {
    const { registry } = this.options;
    const { head, entry } = await this.locate(principal, runId);
    const { workflow } = entry;
    const tenantId = principal.tenantId;
    const input = body.input ?? {};
    if (body.checkpointId === undefined || body.checkpointId === head.id) {
      if (registry.has(runId)) throw new RunLockedError(`Run ${runId} is running; wait for it to pause or finish.`);
      await registry.launch(runId, workflow, (context) => workflow.resume({ runId, input, tenantId, ...context }));
      return { runId };
    }
    await this.checkpointOf(entry, principal, runId, body.checkpointId);
    const forkRunId = uuidv7();
    const checkpointId = body.checkpointId;
    // The fork's first checkpoint is committed before the first node, and the answer waits for it: the new
    // runId is visible to GET, event streams and WebSocket subscribers (in every process) once we answer.
    await registry.launch(
      forkRunId,
      workflow,
      (context) => workflow.resume({ checkpointId, forkRunId, input, tenantId, checkpointOnStart: true, ...context }),
      FIRST_CHECKPOINT,
    );
    return { runId: forkRunId };
  }

  /**
   * Cancels a run wherever it is: here (abort), nowhere (mark the head canceled under a lease), or in
   * another process (a cancel request in the inbox, acted on by that worker's live input channel).
   */
  async cancel(principal: Principal, runId: string): Promise<{ runId: string; status: CheckpointStatus | 'cancel_requested' }> {
    const { registry, adapter, feed, events, workerId, leaseTtlMs } = this.options;
    const { head, entry } = await this.locate(principal, runId);
    if (await registry.cancel(runId)) return { runId, status: 'canceled' };
    if (FINISHED.has(head.status)) return { runId, status: head.status };
    let lease;
    try {
      lease = await entry.store.acquireLease(runId, `${workerId}:cancel:${uuidv7()}`, leaseTtlMs);
    } catch (error) {
      if (!RunLockedError.isInstance(error)) throw error;
      await adapter.putInput(runId, { key: `cancel.${uuidv7()}`, nodePath: CANCEL_PATH, value: 'null', createdAt: Date.now() });
      await feed.notify({ runId, kind: 'input' });
      return { runId, status: 'cancel_requested' };
    }
    try {
      const headId = (await adapter.getHead(runId))!;
      await entry.store.update(headId, { status: 'canceled', pendingInputs: [] }, { lease });
      events.append({ runId, type: 'run_canceled', data: { by: principal.userId }, ts: Date.now() });
    } finally {
      await entry.store.releaseLease(lease).catch(() => undefined);
    }
    return { runId, status: 'canceled' };
  }

  async checkpoints(principal: Principal, runId: string, limit: number): Promise<CheckpointSummary[]> {
    const { entry } = await this.locate(principal, runId);
    return entry.store.listByRun(runId, { limit, tenantId: principal.tenantId });
  }

  async checkpoint(principal: Principal, runId: string, checkpointId: string): Promise<FlowCheckpoint> {
    const { entry } = await this.locate(principal, runId);
    return this.checkpointOf(entry, principal, runId, checkpointId);
  }

  /** The run's head and workflow, or NotFound for a run that is missing, another tenant's, or not served here. */
  private async locate(principal: Principal, runId: string): Promise<Located> {
    const { adapter, catalog } = this.options;
    const missing = () => new NotFoundError(`Run ${runId} was not found.`);
    if (!isSafeId(runId)) throw missing();
    const headId = await adapter.getHead(runId);
    const head = headId === null ? null : await adapter.getHeader(headId);
    if (!head || (head.tenantId ?? null) !== principal.tenantId) throw missing();
    const entry = catalog.byId(head.workflowId);
    if (!entry) throw missing();
    return { head, entry };
  }

  private async checkpointOf(entry: CatalogEntry, principal: Principal, runId: string, checkpointId: string): Promise<FlowCheckpoint> {
    const missing = new NotFoundError(`Checkpoint ${checkpointId} of run ${runId} was not found.`);
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

  /**
   * Each answer must name an input the flow can take and satisfy that node's schema; when the run is
   * paused it must also be one of the inputs it waits for (a live run may not have committed its
   * request yet, so any HumanInput path of the flow is accepted then). Nothing is stored otherwise.
   */
  private async validateAnswers(head: HeaderRecord, entry: CatalogEntry, input: Record<string, unknown>): Promise<void> {
    const waiting =
      head.status === 'pending_input'
        ? new Set((await entry.store.listByRun(head.runId, { limit: 1 }))[0]?.pendingInputs.map((p) => p.nodePath) ?? [])
        : undefined;
    const issues: InvalidResumeInputError['issues'] = [];
    for (const [nodePath, value] of Object.entries(input)) {
      const schema = nodePath === CANCEL_PATH ? undefined : entry.workflow.flow.inputSchemaFor(nodePath);
      if (!schema || (waiting && !waiting.has(nodePath))) {
        const listed = waiting ? [...waiting].join(', ') || 'none' : 'unknown';
        issues.push({ nodePath, message: `no input is pending at "${nodePath}" (pending: ${listed})` });
        continue;
      }
      const parsed = schema.safeParse(value);
      if (!parsed.success) issues.push({ nodePath, message: parsed.error.issues.map((i) => `${i.path.join('.') || '(value)'}: ${i.message}`).join('; ') });
    }
    if (issues.length > 0) {
      const error = new InvalidResumeInputError(
        `The answer for run ${head.runId} was rejected; nothing was changed. ${issues.map((i) => `${i.nodePath}: ${i.message}`).join('; ')}`,
      );
      error.issues = issues;
      throw error;
    }
  }

  private entryNamed(name: string): CatalogEntry {
    const entry = this.options.catalog.byName(name);
    if (!entry) throw new InvalidArgumentError(`Unknown workflow "${name}".`);
    return entry;
  }

  /** Run heads of one workflow, newest first: the pending_input index when asked for it, else a bounded scan. */
  private async listOf(entry: CatalogEntry, tenantId: string, status: CheckpointStatus | undefined, limit: number): Promise<RunListItem[]> {
    const { adapter } = this.options;
    const toItem = (s: CheckpointSummary): RunListItem => ({
      runId: s.runId,
      workflow: entry.name,
      status: s.status,
      pendingInputs: s.pendingInputs,
      updatedAt: s.updatedAt,
    });
    const ours = (s: CheckpointSummary) => s.workflowId === entry.workflow.id;
    const flowId = entry.workflow.flow.id;
    if (status === 'pending_input') {
      return (await entry.store.listPendingInput({ flowId, tenantId, limit })).filter(ours).map(toItem);
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
        if ((await adapter.getHead(summary.runId)) === summary.id) out.push(toItem(summary));
      }
      scanned += page.length;
      if (page.length < LIST_PAGE) break;
      beforeId = page[page.length - 1]!.id;
    }
    return out;
  }
}
