import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readPackIndex, type PackEntry } from '../../src/pack-file.js';

/** The files of a run that may hold blobs: its header files (a save's new blobs follow its header) and `packs/`. */
export async function packFiles(dir: string, runId: string): Promise<string[]> {
  const files = await Promise.all(
    ['headers', 'packs'].map(async (sub) => {
      const names = await readdir(join(dir, 'runs', runId, sub)).catch(() => []);
      return names.filter((name) => /\.(json|pack)$/.test(name)).sort().map((name) => join(dir, 'runs', runId, sub, name));
    }),
  );
  return files.flat();
}

/** Every place a blob of the run is stored: a pack file (a header file, or one in `packs/`) and its bytes in it. */
export async function locateBlob(dir: string, runId: string, hash: string): Promise<Array<{ path: string; entry: PackEntry }>> {
  const places: Array<{ path: string; entry: PackEntry }> = [];
  for (const path of await packFiles(dir, runId)) {
    const entry = readPackIndex(path)?.find((candidate) => candidate.hash === hash);
    if (entry) places.push({ path, entry });
  }
  if (places.length === 0) throw new Error(`blob ${hash} of run ${runId} is in no pack`);
  return places;
}

/** Overwrites the second half of a stored blob's bytes in place (every copy), as a damaged disk would. */
export async function damageBlob(dir: string, runId: string, hash: string): Promise<void> {
  for (const { path, entry } of await locateBlob(dir, runId, hash)) {
    const half = Math.floor(entry.length / 2);
    const handle = await open(path, 'r+');
    try {
      await handle.write(Buffer.alloc(entry.length - half, '#'), 0, entry.length - half, entry.start + half);
    } finally {
      await handle.close();
    }
  }
}
