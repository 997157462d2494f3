import { InvalidArgumentError, type CheckpointStatus, type CheckpointSummary, type PendingInputContext, type StorageAdapter } from '@savepoint/core';
import type { Principal } from './principal.js';
import { startedByOf, type RunAccessPolicy } from './run-access.js';
import { publicRunId } from './run-ids.js';
import type { CatalogEntry, WorkflowCatalog } from './workflow-catalog.js';

export interface RunListItem {
  runId: string;
  workflow: string;
  status: CheckpointStatus;
  pendingInputs: PendingInputContext[];
  updatedAt: Date;
}

export interface RunListQuery {
  status?: CheckpointStatus | undefined;
  workflow?: string | undefined;
  /** Only runs the principal started. */
  mine?: boolean | undefined;
  limit: number;
  /** Continue with runs whose head checkpoint id is below this one (a previous page's `next`). */
  after?: string | undefined;
}

/** One page; `next` (a head checkpoint id) is where the following page starts, undefined at the end. */
export interface RunPage {
  runs: RunListItem[];
  next: string | undefined;
}

export interface RunListingOptions {
  catalog: WorkflowCatalog;
  adapter: StorageAdapter;
  access: RunAccessPolicy;
}

/** Checkpoints asked of the store at once. */
const SCAN_PAGE = 200;
/** Checkpoints one request reads at most: a listing whose filters hide most runs answers a short page and a cursor. */
const MAX_SCAN = 5_000;

/**
 * The tenant's runs, newest first by their head checkpoint (UUIDv7: the time the run last changed), read by walking
 * the workflows' checkpoints newest first and keeping each run's head. A page ends at a checkpoint id, so the next
 * page is the same walk below that id: runs started or changed meanwhile get newer ids and land on earlier pages
 * (a run that changes while a client pages moves to the front: it is not listed twice); none is skipped or repeated
 * because of them.
 */
export class RunListing {
  constructor(private readonly options: RunListingOptions) {}

  async list(principal: Principal, query: RunListQuery): Promise<RunPage> {
    const { catalog } = this.options;
    const entries = query.workflow === undefined ? catalog.all() : [this.entryNamed(query.workflow)];
    const byWorkflowId = new Map(entries.map((entry) => [entry.workflow.id, entry]));
    const walk = newestFirst(entries.map((entry) => this.checkpointsOf(entry, principal.tenantId, query)));
    const found: Array<{ item: RunListItem; at: string }> = [];
    const seen = new Set<string>();
    let scanned = 0;
    let last: string | undefined;
    let exhausted = true;
    for await (const summary of walk) {
      scanned += 1;
      last = summary.id;
      const entry = byWorkflowId.get(summary.workflowId ?? '');
      // A run is listed where its newest checkpoint is, once: older checkpoints of it (here or on later pages) are not its head.
      if (entry && !seen.has(summary.runId)) {
        seen.add(summary.runId);
        const item = await this.itemOf(entry, principal, summary, query.mine === true);
        if (item) found.push({ item, at: summary.id });
      }
      // One more than a page tells whether another page exists; the scan budget bounds a request's cost.
      if (found.length > query.limit || scanned >= MAX_SCAN) {
        exhausted = false;
        break;
      }
    }
    const runs = found.slice(0, query.limit).map(({ item }) => item);
    if (exhausted) return { runs, next: undefined };
    return { runs, next: found.length > query.limit ? found[query.limit - 1]!.at : last };
  }

  /** The run as listed, if `summary` is its head and the principal may see it. */
  private async itemOf(entry: CatalogEntry, principal: Principal, summary: CheckpointSummary, mine: boolean): Promise<RunListItem | undefined> {
    const { adapter, access } = this.options;
    const { tenantId, userId } = principal;
    if ((await adapter.getHead(summary.runId)) !== summary.id) return undefined;
    const startedBy = startedByOf(summary.metadata);
    if (mine && startedBy !== userId) return undefined;
    const runId = publicRunId(tenantId, summary.runId);
    if (!(await access.mayRead(principal, { runId, workflow: entry.name, tenantId, startedBy }))) return undefined;
    return { runId, workflow: entry.name, status: summary.status, pendingInputs: summary.pendingInputs, updatedAt: summary.updatedAt };
  }

  /** The workflow's checkpoints of the tenant (of one status, if asked), newest first, below `after`. */
  private async *checkpointsOf(entry: CatalogEntry, tenantId: string, { status, after }: RunListQuery): AsyncGenerator<CheckpointSummary> {
    let beforeId = after;
    for (;;) {
      const page = await entry.store.listByFlow(entry.workflow.flow.id, {
        tenantId,
        limit: SCAN_PAGE,
        ...(status === undefined ? {} : { statuses: [status] }),
        ...(beforeId === undefined ? {} : { beforeId }),
      });
      yield* page;
      if (page.length < SCAN_PAGE) return;
      beforeId = page[page.length - 1]!.id;
    }
  }

  private entryNamed(name: string): CatalogEntry {
    const entry = this.options.catalog.byName(name);
    if (!entry) throw new InvalidArgumentError(`Unknown workflow "${name}".`);
    return entry;
  }
}

/** Merges walks that are each newest first (by checkpoint id) into one. */
async function* newestFirst(walks: Array<AsyncGenerator<CheckpointSummary>>): AsyncGenerator<CheckpointSummary> {
  const heads = await Promise.all(walks.map((walk) => walk.next()));
  try {
    for (;;) {
      let newest = -1;
      heads.forEach((head, i) => {
        if (!head.done && (newest < 0 || head.value.id > (heads[newest]!.value as CheckpointSummary).id)) newest = i;
      });
      if (newest < 0) return;
      yield heads[newest]!.value as CheckpointSummary;
      heads[newest] = await walks[newest]!.next();
    }
  } finally {
    await Promise.all(walks.map((walk) => walk.return(undefined)));
  }
}
