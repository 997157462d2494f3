import type { CheckpointStatus } from '../models/checkpoint.js';
import { uuidv7 } from '../util/uuidv7.js';
import type { CheckpointCodec } from './checkpoint-codec.js';
import { readIntact, type CorruptOption } from './corrupt-option.js';
import { allFlowIds, allHeaders, PAGE } from './header-pages.js';
import type { KnownBlobs } from './known-blobs.js';
import { RenewedLease } from './renewed-lease.js';
import type { HeaderRecord, StorageAdapter } from './storage-adapter.js';

export interface CleanupOptions extends CorruptOption {
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
/**
 * Garbage collection holds the run for this long at a time, renewed while it works: a collector killed midway
 * delays a worker that resumes the run (a human's answer) by at most this much.
 */
export const GC_LEASE_MS = 5_000;

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
      // Decisions rest on verified headers only; a corrupt one is never deleted (see `CorruptOption`).
      const headers = readIntact(await allHeaders(this.adapter, { flowId }), policy, (h) => {
        this.checkpoints.verify(h);
        return h;
      });
      const newest = newestByRun(headers);
      const heads = new Map<string, string | null>();
      const doomed: HeaderRecord[] = [];
      for (let index = 0; index < headers.length; index += 1) {
        const h = headers[index]!;
        const expired = index >= max || (cutoff !== undefined && h.createdAt < cutoff);
        if (!expired) continue;
        if (!FINISHED.has(h.status)) {
          // The run's newest checkpoint is protected even when the adapter's head lags behind it (a head
          // pointer not yet repaired after a crash), and so is whatever the adapter calls the head.
          if (newest.get(h.runId) === h) continue;
          if (!heads.has(h.runId)) heads.set(h.runId, await this.adapter.getHead(h.runId));
          if (heads.get(h.runId) === h.id) continue;
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
   * Deletes the run's blobs that no remaining checkpoint of the run references. It runs under a short lease of
   * its own (`RenewedLease`), so it never races a worker writing the run: a save writes its blobs before its
   * header, and skips blobs it knows the run holds. It deletes only after confirming the lease, which gives the
   * deletion a whole ttl. When the run is leased, the lease is lost, or anything cannot be read, it deletes
   * nothing now and a later cleanup retries. `deleteBlobsExcept` carries no fencing token, so a process frozen
   * for longer than the ttl inside that one call could still delete the new blobs of a writer that took the
   * run over meanwhile; the writer's load would then report `CorruptCheckpointError`, never wrong state.
   */
  async collectGarbage(runId: string): Promise<number> {
    const lease = await RenewedLease.acquire(this.adapter, runId, `savepoint:gc:${uuidv7()}`, GC_LEASE_MS);
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
      if (!(await lease.confirm())) return 0;
      return await this.adapter.deleteBlobsExcept(runId, keep);
    } finally {
      await lease.release();
    }
  }
}

/** The highest-seq header of each run among `headers`. */
function newestByRun(headers: readonly HeaderRecord[]): Map<string, HeaderRecord> {
  const out = new Map<string, HeaderRecord>();
  for (const h of headers) {
    const seen = out.get(h.runId);
    if (!seen || h.seq > seen.seq) out.set(h.runId, h);
  }
  return out;
}
