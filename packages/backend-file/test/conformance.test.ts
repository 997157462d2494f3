import { truncate, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { runConformanceSuite } from '@savepoint/conformance';
import { FileBackend } from '../src/index.js';
import { makeBackend, removeDir } from './support/temp-dir.js';

const MAX_EVENTS = 50;

runConformanceSuite({
  name: 'file',
  create: () => makeBackend({ maxEventsPerRun: MAX_EVENTS }),
  destroy: (backend) => removeDir(backend.dir),
  capabilities: { multiProcess: true, leases: true, events: true, inbox: true, notify: 'in-process' },
  maxEventsPerRun: MAX_EVENTS,
  // Another instance on the same directory, with its own in-process lock queue: only the lock files and
  // the create-once files keep the two apart, as between processes.
  async createSibling(backend) {
    const sibling = new FileBackend({ dir: backend.dir, maxEventsPerRun: MAX_EVENTS });
    await sibling.setup();
    return sibling;
  },
  async corruptBlob(backend, runId, hash) {
    const path = join(backend.dir, 'runs', runId, 'blobs', hash);
    await truncate(path, Math.floor((await stat(path)).size / 2));
  },
});
