// The resume invariants and node-catalogue cases core proves on MemoryAdapter, against the embedded
// backends users deploy.
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from '@jest/globals';
import { Flow, FunctionNode, NotFoundError, Workflow, type StorageAdapter } from '@savepoint/core';
import { FileBackend } from '@savepoint/backend-file';
import { SqliteBackend } from '@savepoint/backend-sqlite';
import { describeDurability } from '../../../packages/core/test/engine/durability.suite';
import { describeEngineInvariants } from '../../../packages/core/test/engine/engine-invariants.suite';
import { describeHumanQuestions } from '../../../packages/core/test/engine/human-questions.suite';
import { describeUnstorableState } from '../../../packages/core/test/engine/unstorable-state.suite';
import { describeNodeResume } from '../../../packages/core/test/nodes/node-resume.suite';
import { describeRetries } from '../../../packages/core/test/engine/retries.suite';

/** A backend living in its own temp directory, removed after each test, run through both suites. */
function inTempDir(name: string, open: (dir: string) => StorageAdapter, corrupt: (dir: string, runId: string, hash: string) => void) {
  const dirs = new Map<StorageAdapter, string>();
  const backend = {
    async create() {
      const dir = mkdtempSync(join(tmpdir(), `savepoint-inv-${name}-`));
      const adapter = open(dir);
      dirs.set(adapter, dir);
      return adapter;
    },
    async destroy(adapter: StorageAdapter) {
      await adapter.close?.();
      rmSync(dirs.get(adapter)!, { recursive: true, force: true });
      dirs.delete(adapter);
    },
  };
  describeEngineInvariants(name, {
    ...backend,
    async corruptBlob(adapter, runId, hash) {
      corrupt(dirs.get(adapter)!, runId, hash);
    },
  });
  // The node catalogue's resume cases: agent loops, map iterations, orchestrators, nested human input.
  describeNodeResume(name, backend);
  // Question ids, binding answers, and a question stored before it is announced.
  describeHumanQuestions(name, backend);
  // State the codec refuses fails the run and still leaves a stored, failed head.
  describeUnstorableState(name, backend);
  // Transient write failures retried, lost replies recognised, warnings and failures reported to the logger.
  describeDurability(name, backend);
  // Node retries and timeouts: attempts counted durably, a back-off interrupted by a crash resumed where it stopped.
  describeRetries(name, backend);
}

inTempDir(
  'file',
  (dir) => new FileBackend({ dir }),
  (dir, runId, hash) => {
    // A damaged disk: the second half of the blob's bytes overwritten, in every file that holds it. Blobs live in
    // packs (header files and packs/), which end with an index of [hash, byte offset, length]: see the backend's README.
    for (const sub of ['headers', 'packs']) {
      const packsDir = join(dir, 'runs', runId, sub);
      for (const name of existsSync(packsDir) ? readdirSync(packsDir) : []) {
        const entry = new RegExp(`\\["${hash}",(\\d+),(\\d+)\\]`).exec(readFileSync(join(packsDir, name), 'latin1'));
        if (!entry) continue;
        const [start, length] = [Number(entry[1]), Number(entry[2])];
        const fd = openSync(join(packsDir, name), 'r+');
        writeSync(fd, '#'.repeat(length - Math.floor(length / 2)), start + Math.floor(length / 2));
        closeSync(fd);
      }
    }
  },
);

inTempDir(
  'sqlite',
  (dir) => new SqliteBackend({ path: join(dir, 'runs.db') }),
  (dir, runId, hash) => {
    // Another connection to the same file, as a disk fault seen by every process would be.
    const db = new Database(join(dir, 'runs.db'));
    db.prepare('UPDATE savepoint_blobs SET data = substr(data, 1, length(data) / 2) WHERE run_id = ? AND hash = ?').run(runId, hash);
    db.close();
  },
);

describe('file backend: resume({ runId }) of a run that does not exist', () => {
  it('rejects with NotFoundError and leaves no directory of that run (no lease.json, no lock) behind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'savepoint-inv-missing-'));
    try {
      const workflow = new Workflow({
        flow: new Flow({ id: 'missing', nodes: [new FunctionNode({ id: 'only', run: () => 1 })] }),
        checkpoint: { enabled: true, backend: new FileBackend({ dir }) },
      });
      await expect(workflow.resume({ runId: 'never-started' })).rejects.toThrow(NotFoundError);
      expect(existsSync(join(dir, 'runs', 'never-started'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
