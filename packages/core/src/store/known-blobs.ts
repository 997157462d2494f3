/**
 * The blob hashes each recent run is known to hold, so a save can skip re-sending content the run already has.
 * Remembers the two newest checkpoints of each run (a save only asks about its parent, normally one of them)
 * and at most `maxRuns` runs, least recently used dropped, so memory stays bounded however many runs a process sees.
 */
export class KnownBlobs {
  /** runId -> (checkpoint id -> every hash that checkpoint references); LRU over runs. */
  private readonly runs = new Map<string, Map<string, ReadonlySet<string>>>();

  constructor(private readonly maxRuns: number) {}

  /**
   * Hashes the run is known to hold, if `checkpointId` is one this store wrote or read. Only hashes reachable
   * from the new checkpoint's parent are trusted: retention never deletes those while the parent is the head of
   * an unfinished run, so a blob skipped because it is "known" cannot have been collected meanwhile.
   */
  reachableFrom(runId: string, checkpointId: string): ReadonlySet<string> | undefined {
    const run = this.runs.get(runId);
    if (!run) return undefined;
    this.runs.delete(runId);
    this.runs.set(runId, run);
    return run.get(checkpointId);
  }

  remember(runId: string, checkpointId: string, hashes: ReadonlySet<string>): void {
    let run = this.runs.get(runId);
    if (run) this.runs.delete(runId);
    else run = new Map();
    run.delete(checkpointId);
    run.set(checkpointId, hashes);
    while (run.size > 2) run.delete(run.keys().next().value!);
    this.runs.set(runId, run);
    while (this.runs.size > this.maxRuns) this.runs.delete(this.runs.keys().next().value!);
  }

  /** Called when a checkpoint is deleted: its blobs may be collected, so they are no longer known. */
  forget(runId: string, checkpointId: string): void {
    const run = this.runs.get(runId);
    if (!run) return;
    run.delete(checkpointId);
    if (run.size === 0) this.runs.delete(runId);
  }

  forgetRun(runId: string): void {
    this.runs.delete(runId);
  }
}
