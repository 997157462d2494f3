import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runConformanceSuite } from '@savepoint/conformance';
import { FileBackend } from '../src/index.js';
import { damageBlob } from './support/packs.js';
import { makeBackend, makeTempDir, removeDir } from './support/temp-dir.js';

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
  // An empty directory (test/fresh-store.test.ts also covers one that does not exist yet).
  async createFresh() {
    return new FileBackend({ dir: await makeTempDir(), maxEventsPerRun: MAX_EVENTS });
  },
  // Every file under the directory, names included: temp files, lock stages, index links.
  async dumpRaw(backend) {
    const entries = await readdir(backend.dir, { recursive: true, withFileTypes: true }).catch(() => []);
    const files = entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
    const texts = await Promise.all(files.map(async (path) => `${path}\n${await readFile(path, 'utf8').catch(() => '')}`));
    return texts.join('\n');
  },
  async corruptBlob(backend, runId, hash) {
    await damageBlob(backend.dir, runId, hash);
  },
});
