import { SavepointError, type HeaderRecord, type StorageAdapter } from '@savepoint/core';
import type { RunRegistry } from './run-registry.js';
import { CONTENDED_CODES } from './run-status.js';
import type { CatalogEntry, WorkflowCatalog } from './workflow-catalog.js';

export interface ReaperOptions {
  catalog: WorkflowCatalog;
  adapter: StorageAdapter;
  registry: RunRegistry;
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
 * Resumes runs whose worker died: run heads still `active` (a live worker would have moved them on or
 * still hold their lease). Trying to resume is the liveness test: the lease refuses every run a live
 * worker holds, so several processes may reap at once and each run gets exactly one new owner.
 * `pending_input` heads are left alone (they wait for a human; a posted answer resumes them), and so
 * are finished ones.
 */
export class Reaper {
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<number> | undefined;

  constructor(private readonly options: ReaperOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.reap(), this.options.intervalMs);
    this.timer.unref();
  }

  /** One pass (the timer's, or an extra one); resolves with how many runs it resumed. */
  reap(): Promise<number> {
    this.pass ??= this.scanAll().finally(() => (this.pass = undefined));
    return this.pass;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.pass;
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
    const { adapter, registry, resume, onError } = this.options;
    const seen = new Set<string>();
    let resumed = 0;
    let beforeId: string | undefined;
    for (let scanned = 0; scanned < MAX_SCAN; ) {
      const page: HeaderRecord[] = await adapter.queryHeaders({
        flowId: entry.workflow.flow.id,
        statuses: ['active'],
        order: 'desc',
        limit: PAGE,
        ...(beforeId === undefined ? {} : { beforeId }),
      });
      for (const header of page) {
        if (header.workflowId !== entry.workflow.id || seen.has(header.runId)) continue;
        seen.add(header.runId);
        if (registry.has(header.runId) || (await adapter.getHead(header.runId)) !== header.id) continue;
        try {
          await resume(header.runId, entry);
          resumed += 1;
        } catch (error) {
          if (!(SavepointError.isInstance(error) && CONTENDED_CODES.has(error.code))) onError(error, `reaping run ${header.runId}`);
        }
      }
      scanned += page.length;
      if (page.length < PAGE) break;
      beforeId = page[page.length - 1]!.id;
    }
    return resumed;
  }
}
