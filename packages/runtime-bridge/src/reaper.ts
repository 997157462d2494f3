import { SavepointError, type CheckpointStatus, type HeaderRecord, type StorageAdapter } from '@savepoint/core';
import type { ChangeFeed } from './change-feed.js';
import type { RunRegistry } from './run-registry.js';
import { CONTENDED_CODES } from './run-status.js';
import type { CatalogEntry, WorkflowCatalog } from './workflow-catalog.js';

export interface ReaperOptions {
  catalog: WorkflowCatalog;
  adapter: StorageAdapter;
  registry: RunRegistry;
  /** Tells the reaper of runs another process handed over (`kind: 'lease'`), so it resumes them at once. */
  feed: ChangeFeed;
  resume: (runId: string, entry: CatalogEntry) => Promise<void>;
  /** Sets the backend up (memoized); a pass waits for it. */
  ready: () => Promise<void>;
  intervalMs: number;
  onError: (error: unknown, context: string) => void;
}

const PAGE = 200;
/** Headers looked at per workflow and pass, so one pass stays cheap on a large store. */
const MAX_SCAN = 2_000;
/**
 * Heads of runs that should be executing: `active` (its worker may have died: the lease tells) and `paused` (handed
 * over by a shutdown, lease released: another process continues it at once).
 */
const ORPHANED: readonly CheckpointStatus[] = ['active', 'paused'];

/**
 * Resumes runs whose worker died: run heads still `active` (a live worker would have moved them on or
 * still hold their lease), and runs a shutting-down process handed over (`paused`, lease released), at once
 * when that process's notification arrives, else at the next pass. Trying to resume is the liveness test: the
 * lease refuses every run a live worker holds, so several processes may reap at once and each run gets exactly
 * one new owner. `pending_input` heads are left alone (they wait for a human; a posted answer resumes them),
 * and so are finished ones.
 */
export class Reaper {
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<number> | undefined;
  private unlisten: (() => void) | undefined;
  /** Resumes started on a handover notification, awaited by `close()`. */
  private readonly handovers = new Set<Promise<unknown>>();

  constructor(private readonly options: ReaperOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.reap(), this.options.intervalMs);
    this.timer.unref();
    this.unlisten = this.options.feed.listen('lease', (runId) => {
      const handover = this.takeOver(runId);
      this.handovers.add(handover);
      void handover.finally(() => this.handovers.delete(handover));
    });
  }

  /** One pass (the timer's, or an extra one); resolves with how many runs it resumed. */
  reap(): Promise<number> {
    this.pass ??= this.scanAll().finally(() => (this.pass = undefined));
    return this.pass;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.unlisten?.();
    await Promise.all([this.pass, ...this.handovers]);
  }

  /** Resumes one run another process handed over, if it still waits for an owner and one of our workflows runs it. */
  private async takeOver(runId: string): Promise<void> {
    try {
      await this.options.ready();
      const headId = await this.options.adapter.getHead(runId);
      const head = headId === null ? null : await this.options.adapter.getHeader(headId);
      const entry = head && ORPHANED.includes(head.status) ? this.options.catalog.byId(head.workflowId) : undefined;
      if (entry && entry.workflow.flow.id === head!.flowId) await this.tryResume(runId, entry);
    } catch (error) {
      this.options.onError(error, `taking over run ${runId} handed over by another process`);
    }
  }

  /** Resumes the run unless this process already runs it; another process winning it is no error. Returns 1 if resumed. */
  private async tryResume(runId: string, entry: CatalogEntry): Promise<number> {
    if (this.options.registry.has(runId)) return 0;
    try {
      await this.options.resume(runId, entry);
      return 1;
    } catch (error) {
      if (!(SavepointError.isInstance(error) && CONTENDED_CODES.has(error.code))) this.options.onError(error, `reaping run ${runId}`);
      return 0;
    }
  }

  private async scanAll(): Promise<number> {
    try {
      await this.options.ready();
    } catch (error) {
      this.options.onError(error, 'setting the backend up before reaping (retried on the next pass)');
      return 0;
    }
    let resumed = 0;
    for (const entry of this.options.catalog.all()) {
      try {
        resumed += await this.scan(entry);
      } catch (error) {
        this.options.onError(error, `reaping runs of workflow "${entry.name}"`);
      }
    }
    return resumed;
  }

  private async scan(entry: CatalogEntry): Promise<number> {
    const { adapter } = this.options;
    const seen = new Set<string>();
    let resumed = 0;
    let beforeId: string | undefined;
    for (let scanned = 0; scanned < MAX_SCAN; ) {
      const page: HeaderRecord[] = await adapter.queryHeaders({
        flowId: entry.workflow.flow.id,
        statuses: ORPHANED,
        order: 'desc',
        limit: PAGE,
        ...(beforeId === undefined ? {} : { beforeId }),
      });
      for (const header of page) {
        if (header.workflowId !== entry.workflow.id || seen.has(header.runId)) continue;
        seen.add(header.runId);
        if ((await adapter.getHead(header.runId)) !== header.id) continue;
        resumed += await this.tryResume(header.runId, entry);
      }
      scanned += page.length;
      if (page.length < PAGE) break;
      beforeId = page[page.length - 1]!.id;
    }
    return resumed;
  }
}
