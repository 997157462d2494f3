import type { CheckpointStatus } from '../models/checkpoint.js';
import { uuidv7 } from '../util/uuidv7.js';
import type { CheckpointCodec } from './checkpoint-codec.js';
import { readIntact, type CorruptOption } from './corrupt-option.js';
import { allHeaders, headerPages } from './header-pages.js';
import type { KnownBlobs } from './known-blobs.js';
import { RenewedLease } from './renewed-lease.js';
import { TOMBSTONE_KEY, tombstoneBlob } from './retention-tombstone.js';
import type { HeaderRecord, StorageAdapter } from './storage-adapter.js';

export interface CleanupOptions extends CorruptOption {
  /** Only the runs of this flow (default: every flow). */
  flowId?: string;
  /** Only this run. */
  runId?: string;
  /**
   * Checkpoints kept per run, newest first by seq; older ones are deleted. The run's head is always kept, and
   * another run's activity never deletes anything of this one. Default: no limit (a run keeps its whole history).
   */
  maxCheckpointsPerRun?: number;
  /**
   * @deprecated Counted per flow before 0.2, which deleted whole runs' histories once other runs happened. It now
   * means `maxCheckpointsPerRun` (which wins when both are set); 0 keeps only each run's head.
   */
  maxCheckpoints?: number;
  /**
   * Finished runs (head `completed`, `failed` or `canceled`) whose head was last updated longer ago than this are
   * removed entirely, leaving a record that makes `resume` answer `RemovedByRetentionError`. Unfinished runs and
   * runs waiting for input are never removed. Default 30; `null` keeps finished runs forever.
   */
  retentionDays?: number | null;
  /** Clock for `retentionDays` (epoch ms or Date). Default now. */
  now?: number | Date;
}

export interface CleanupResult {
  deletedCheckpoints: number;
  deletedBlobs: number;
}

/** Checked cleanup options (see `checkRetention`) with the defaults applied. */
export interface RetentionPolicy extends CorruptOption {
  flowId?: string;
  runId?: string;
  /** `Infinity` when runs keep their whole history. */
  maxCheckpointsPerRun: number;
  /** `null` when finished runs are kept forever. */
  retentionDays: number | null;
  /** Epoch ms. */
  now: number;
}

/** A run whose head has one of these statuses is over: only these runs may age out entirely. */
const FINISHED: readonly CheckpointStatus[] = ['completed', 'failed', 'canceled'];
const DAY_MS = 86_400_000;
/**
 * Garbage collection holds the run for this long at a time, renewed while it works: a collector killed midway
 * delays a worker that resumes the run (a human's answer) by at most this much.
 */
export const GC_LEASE_MS = 5_000;

/**
 * Applies retention run by run: a run's history shrinks to its newest `maxCheckpointsPerRun`, and a finished run
 * older than `retentionDays` is removed entirely. Then it drops the blobs no remaining checkpoint of a run references.
 * Every adapter query is bounded (`PAGE` headers), decisions rest on verified headers only, and a run is held (under
 * the short GC lease) only while its blobs are collected or while it is removed.
 */
export class RetentionSweeper {
  constructor(
    private readonly adapter: StorageAdapter,
    private readonly checkpoints: CheckpointCodec,
    private readonly known: KnownBlobs,
  ) {}

  /** `CheckpointStore.cleanup` once its options are checked and the adapter is set up. */
  async sweep(checked: RetentionPolicy): Promise<CleanupResult> {
    const policy = reportingOnce(checked);
    const tally: CleanupResult = { deletedCheckpoints: 0, deletedBlobs: 0 };
    if (policy.retentionDays !== null) await this.expireRuns(policy, policy.now - policy.retentionDays * DAY_MS, tally);
    if (policy.maxCheckpointsPerRun !== Infinity) {
      if (policy.runId !== undefined) await this.trimRun(policy.runId, policy, tally);
      else await this.eachRun(policy, (runId) => this.trimRun(runId, policy, tally));
    }
    return tally;
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
    const lease = await this.gcLease(runId);
    if (!lease) return 0;
    try {
      return await this.collectUnder(lease, runId);
    } finally {
      await lease.release();
    }
  }

  private gcLease(runId: string): Promise<RenewedLease | null> {
    return RenewedLease.acquire(this.adapter, runId, `savepoint:gc:${uuidv7()}`, GC_LEASE_MS);
  }

  private async collectUnder(lease: RenewedLease, runId: string): Promise<number> {
    const remaining = await allHeaders(this.adapter, { runId });
    // a run retention removed keeps the record saying so
    const keep = new Set<string>([TOMBSTONE_KEY]);
    for (const record of remaining) {
      try {
        const { reader } = await this.checkpoints.open(record, this.adapter);
        for (const hash of reader.hashes) keep.add(hash);
      } catch {
        return 0;
      }
    }
    if (!(await lease.confirm())) return 0;
    return this.adapter.deleteBlobsExcept(runId, keep);
  }

  /** Calls `visit` once for each run in scope, discovered a page of headers at a time. */
  private async eachRun(policy: RetentionPolicy, visit: (runId: string) => Promise<void>): Promise<void> {
    const seen = new Set<string>();
    for await (const page of headerPages(this.adapter, scope(policy))) {
      // Without `onCorrupt` the whole page is verified before any of its runs is touched, so a corrupt header
      // stops the cleanup before it deletes anything of the runs around it. With it, the run's own listing reports it.
      if (!policy.onCorrupt) for (const h of page) this.checkpoints.verify(h);
      for (const h of page) {
        if (seen.has(h.runId)) continue;
        seen.add(h.runId);
        await visit(h.runId);
      }
    }
  }

  /**
   * Keeps the run's newest `maxCheckpointsPerRun` intact checkpoints by seq, plus whatever the adapter calls the
   * head (a head pointer that lags behind after a crash), and corrupt ones (reported, never deleted).
   */
  private async trimRun(runId: string, policy: RetentionPolicy, tally: CleanupResult): Promise<void> {
    let kept = 0;
    let head: string | null | undefined;
    let trimmed = false;
    for await (const page of headerPages(this.adapter, { ...scope(policy), runId })) {
      const doomed: string[] = [];
      for (const h of readIntact(page, policy, (record) => (this.checkpoints.verify(record), record))) {
        if (kept < policy.maxCheckpointsPerRun) kept += 1;
        else if ((head ??= await this.adapter.getHead(runId)) !== h.id) doomed.push(h.id);
      }
      if (doomed.length > 0) {
        tally.deletedCheckpoints += await this.adapter.deleteHeaders(doomed);
        for (const id of doomed) this.known.forget(runId, id);
        trimmed = true;
      }
    }
    if (trimmed) tally.deletedBlobs += await this.collectGarbage(runId);
  }

  /** Removes every finished run in scope whose head was last updated before `cutoff`. */
  private async expireRuns(policy: RetentionPolicy, cutoff: number, tally: CleanupResult): Promise<void> {
    if (policy.runId !== undefined) {
      await this.expireRun(policy.runId, policy, cutoff, tally);
      return;
    }
    // A head updated before the cutoff was created before it too: the index on createdAt finds the candidates.
    const seen = new Set<string>();
    for await (const page of headerPages(this.adapter, { ...scope(policy), statuses: FINISHED, createdBefore: cutoff })) {
      for (const h of page) {
        if (seen.has(h.runId)) continue;
        seen.add(h.runId);
        await this.expireRun(h.runId, policy, cutoff, tally);
      }
    }
  }

  /**
   * Removes the run when its head is verified, finished and older than the cutoff. It holds the run under the GC
   * lease meanwhile, so no worker resumes it halfway, and writes the tombstone before the first deletion, so a
   * removal cut short still explains itself. A corrupt header is kept (and reported), like everywhere in retention.
   */
  private async expireRun(runId: string, policy: RetentionPolicy, cutoff: number, tally: CleanupResult): Promise<void> {
    const lease = await this.gcLease(runId);
    if (!lease) return; // a worker holds the run: it is not over
    try {
      const head = await this.expiredHead(runId, policy, cutoff);
      if (!head) return;
      await this.adapter.putBlobs(runId, [
        tombstoneBlob({
          runId,
          tenantId: head.tenantId ?? null,
          setting: 'retentionDays',
          retentionDays: policy.retentionDays!,
          status: head.status,
          lastUpdatedAt: head.updatedAt,
          removedAt: policy.now,
        }),
      ]);
      for await (const page of headerPages(this.adapter, { runId })) {
        const intact = readIntact(page, policy, (record) => (this.checkpoints.verify(record), record.id));
        if (intact.length > 0) {
          if (!(await lease.confirm())) return;
          tally.deletedCheckpoints += await this.adapter.deleteHeaders(intact);
        }
      }
      this.known.forgetRun(runId);
      tally.deletedBlobs += await this.collectUnder(lease, runId);
    } finally {
      await lease.release();
    }
  }

  /**
   * The run's head when the run may age out: verified, in scope, finished and last updated before the cutoff. Both
   * the highest-seq header and what the adapter calls the head (which may lag behind after a crash) must qualify.
   */
  private async expiredHead(runId: string, policy: RetentionPolicy, cutoff: number): Promise<HeaderRecord | null> {
    const [newest] = await this.adapter.queryHeaders({ runId, order: 'desc', limit: 1 });
    const headId = await this.adapter.getHead(runId);
    const pointed = headId === null || headId === newest?.id ? undefined : await this.adapter.getHeader(headId);
    const candidates = [newest, pointed].filter((h): h is HeaderRecord => h !== undefined && h !== null);
    const verified = readIntact(candidates, policy, (record) => (this.checkpoints.verify(record), record));
    if (verified.length !== candidates.length || verified.length === 0) return null;
    const over = verified.every(
      (h) => FINISHED.includes(h.status) && h.updatedAt < cutoff && (policy.flowId === undefined || h.flowId === policy.flowId),
    );
    return over ? newest! : null;
  }
}

/** The policy with an `onCorrupt` that hears of each corrupt checkpoint once, though the age and count passes both read it. */
function reportingOnce(policy: RetentionPolicy): RetentionPolicy {
  const report = policy.onCorrupt;
  if (!report) return policy;
  const heard = new Set<string>();
  return {
    ...policy,
    onCorrupt: (error) => {
      if (heard.has(error.message)) return;
      heard.add(error.message);
      report(error);
    },
  };
}

/** The flow filter of a policy, for header queries. */
function scope(policy: RetentionPolicy): { flowId?: string } {
  return policy.flowId === undefined ? {} : { flowId: policy.flowId };
}
