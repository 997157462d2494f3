import { truncate, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { runConformanceSuite } from '@savepoint/conformance';
import { makeBackend, removeDir } from './support/temp-dir.js';

runConformanceSuite({
  name: 'file',
  create: makeBackend,
  destroy: (backend) => removeDir(backend.dir),
  capabilities: { multiProcess: true, leases: true },
  async corruptBlob(backend, runId, hash) {
    const path = join(backend.dir, 'runs', runId, 'blobs', hash);
    await truncate(path, Math.floor((await stat(path)).size / 2));
  },
});
