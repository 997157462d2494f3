// Child process for test/commit-crash.test.ts: saves one checkpoint and SIGKILLs itself at its commit point, the
// rename of its header file (which carries the new blobs) into headers/, after that file and its index links were
// fsynced: what a power cut or a kill -9 at that moment leaves. The checkpoint comes as JSON on argv.
// (@savepoint/conformance's fixtures are not imported: that package loads jest, absent here.)
import fs from 'node:fs';
import { CheckpointStore, type FlowCheckpoint } from '@savepoint/core';
import { FileBackend } from '../../src/index.js';

async function main(): Promise<void> {
  const [dir, json] = process.argv.slice(2) as [string, string];
  const checkpoint = JSON.parse(json) as FlowCheckpoint;
  checkpoint.createdAt = new Date(checkpoint.createdAt);
  checkpoint.updatedAt = new Date(checkpoint.updatedAt);
  const rename = fs.renameSync;
  fs.renameSync = (from, to) => {
    if (/headers\/\d{16}-/.test(String(to))) process.kill(process.pid, 'SIGKILL');
    rename(from, to);
  };
  const store = new CheckpointStore(new FileBackend({ dir }));
  await store.save(checkpoint, { expectedHead: checkpoint.parentCheckpointId });
  process.stdout.write('committed');
}

main().catch((error: unknown) => {
  process.stderr.write(String(error instanceof Error ? error.stack : error));
  process.exit(1);
});
