import type { CheckpointStatus } from '../models/checkpoint.js';
import { uuidv7 } from '../util/uuidv7.js';
import type { CheckpointCodec } from './checkpoint-codec.js';
import { allFlowIds, allHeaders, PAGE } from './header-pages.js';
import type { KnownBlobs } from './known-blobs.js';
import type { HeaderRecord, StorageAdapter } from './storage-adapter.js';

export interface CleanupOptions {
  /** Only this flow (default: every flow). */
  flowId?: string;
  /** Checkpoints kept per flow, newest first. Default 10. */
  maxCheckpoints?: number;
  /** Checkpoints created longer ago than this are dropped. */
  retentionDays?: number;
  /** Clock for retention (epoch ms or Date). Default now. */
  now?: number | Date;
}

export interface CleanupResult {
  deletedCheckpoints: number;
  deletedBlobs: number;
}

/** Checked cleanup options (see `checkRetention`), with the default applied. */
export type RetentionPolicy = CleanupOptions & { maxCheckpoints: number };

// Only a completed run is done with its head: a failed or canceled run can still be resumed from it.
const FINISHED: ReadonlySet<CheckpointStatus> = new Set(['completed']);
const GC_LEASE_MS = 60_000;

/** Drops old checkpoints and the blobs no remaining checkpoint of their run references. */
export class RetentionSweeper {
  constructor(
    private readonly adapter: StorageAdapter,
    private readonly checkpoints: CheckpointCodec,
    private readonly known: KnownBlobs,
  ) {}

  /** `CheckpointStore.cleanup` once its options are checked and the adapter is set up. */
  async sweep(policy: RetentionPolicy): Promise<CleanupResult> {
    const max = policy.maxCheckpoints;
    const now = policy.now === undefined ? Date.now() : typeof policy.now === 'number' ? policy.now : policy.now.getTime();
    const cutoff = policy.retentionDays === undefined ? undefined : now - policy.retentionDays * 86_400_000;

    const flows = policy.flowId !== undefined ? [policy.flowId] : await allFlowIds(this.adapter);
    let deletedCheckpoints = 0;
    const touched = new Set<string>();
    for (const flowId of flows) {
      const headers = await allHeaders(this.adapter, { flowId });
      const heads = new Map<string, string | null>();
      const doomed: HeaderRecord[] = [];
      for (let index = 0; index < headers.length; index += 1) {
        const h = headers[index]!;
        const expired = index >= max || (cutoff !== undefined && h.createdAt < cutoff);
        if (!expired) continue;
        if (!FINISHED.has(h.status)) {
          if (!heads.has(h.runId)) heads.set(h.runId, await this.adapter.getHead(h.runId));
          if (heads.get(h.runId) === h.id) continue; // the head of an unfinished run, or a pending_input head
        }
        doomed.push(h);
      }
      for (let i = 0; i < doomed.length; i += PAGE) {
        const slice = doomed.slice(i, i + PAGE);
        deletedCheckpoints += await this.adapter.deleteHeaders(slice.map((h) => h.id));
        for (const h of slice) {
          touched.add(h.runId);
          this.known.forget(h.runId, h.id);
        }
      }
    }
    let deletedBlobs = 0;
    for (const runId of touched) deletedBlobs += await this.collectGarbage(runId);
    return { deletedCheckpoints, deletedBlobs };
  }

  /**
   * Deletes the run's blobs that no remaining checkpoint of the run references. Runs under a short GC lease so it
   * never races a worker writing the run (a save writes its blobs before its header); when the run is leased,
   * or anything cannot be read, it deletes nothing now and a later cleanup retries.
   */
  async collectGarbage(runId: string): Promise<number> {
    const lease = await this.adapter.acquireLease(runId, `savepoint:gc:${uuidv7()}`, GC_LEASE_MS);
    if (!lease) return 0;
    try {
      const remaining = await allHeaders(this.adapter, { runId });
      const keep = new Set<string>();
      for (const record of remaining) {
        try {
          const { reader } = await this.checkpoints.open(record, this.adapter);
          for (const hash of reader.hashes) keep.add(hash);
        } catch {
          return 0;
        }
      }
      return await this.adapter.deleteBlobsExcept(runId, keep);
    } finally {
      await this.adapter.releaseLease(lease);
    }
  }
}
