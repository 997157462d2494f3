// Child process for the multi-process test: races other processes to extend one run, always with
// compare-and-set on the head it just read, until the run reaches the target seq.
// (@savepoint/conformance's fixtures are not imported: that package loads jest, absent here.)
import { CHECKPOINT_SCHEMA_VERSION, CheckpointConflictError, CheckpointStore, uuidv7 } from '@savepoint/core';
import { access, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FileBackend } from '../../src/index.js';

/** Start barrier: say we are ready, then wait for the parent's `go` so all writers start together. */
async function waitForGo(dir: string, worker: string): Promise<void> {
  await writeFile(join(dir, `ready-${worker}`), '');
  for (;;) {
    try {
      return await access(join(dir, 'go'));
    } catch {
      await sleep(2);
    }
  }
}

async function main(): Promise<void> {
  const [dir, worker, lastSeqText] = process.argv.slice(2) as [string, string, string];
  const lastSeq = Number(lastSeqText);
  const store = new CheckpointStore(new FileBackend({ dir }));
  await waitForGo(dir, worker);
  let wins = 0;
  let conflicts = 0;
  for (;;) {
    const head = await store.getLatest({ runId: 'shared-run' });
    const seq = head === null ? 0 : head.seq + 1;
    if (seq > lastSeq) break;
    const now = new Date();
    const checkpoint = {
      id: uuidv7(),
      flowId: 'flow-a',
      runId: 'shared-run',
      seq,
      parentCheckpointId: head?.id ?? null,
      status: 'active' as const,
      nodeStates: {},
      completedNodeIds: [],
      pendingNodeIds: [],
      originalInput: { worker, seq, filler: `${worker}:${seq}:`.repeat(200) },
      originalConfig: {},
      pendingInputs: [],
      createdAt: now,
      updatedAt: now,
      schemaVersion: CHECKPOINT_SCHEMA_VERSION,
      libraryVersion: '0.1.0',
      metadata: { worker },
    };
    try {
      await store.save(checkpoint, { expectedHead: head?.id ?? null });
      wins += 1;
    } catch (error) {
      if (!CheckpointConflictError.isInstance(error)) throw error;
      conflicts += 1;
    }
  }
  process.stdout.write(JSON.stringify({ worker, wins, conflicts }));
}

main().catch((error: unknown) => {
  process.stderr.write(String(error instanceof Error ? error.stack : error));
  process.exit(1);
});
