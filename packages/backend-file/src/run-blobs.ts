import { randomBytes } from 'node:crypto';
import { linkSync } from 'node:fs';
import { join } from 'node:path';
import type { BlobRecord } from '@savepoint/core';
import { fsyncDir, isTempName } from './atomic-write.js';
import { listDir, readIfExists, unlinkIfExists } from './fs-entries.js';
import { isMissing } from './fs-errors.js';
import { parseHeaderFileName } from './header-file.js';
import type { Stage } from './lock-stage.js';
import { encodePack, readPackBlobs, readPackIndex, type PackEntry } from './pack-file.js';
import type { RunLayout } from './run-layout.js';

const PACK_NAME = /^\d{16}-[0-9a-f]{12}\.pack$/;
const DROPPED = '.dropped';
// A read that finds a pack gone (a collection compacted or dropped it, a header was deleted) lists the packs
// again; a read that races that many changes in a row gives up.
const READ_ATTEMPTS = 3;

/** The two directories of a run that hold packs. */
type PackDir = 'headers' | 'packs';
const PACK_DIRS: readonly PackDir[] = ['headers', 'packs'];

interface Located {
  dir: PackDir;
  name: string;
  entry: PackEntry;
}

/** What this process knows of one run's blobs: the packs it has read, and the old layout's `blobs/<hash>` files. */
class RunIndex {
  /** Every file read for a pack, with its blobs (none for a header saved without new blobs). Packs never change. */
  readonly files: Record<PackDir, Map<string, PackEntry[]>> = { headers: new Map(), packs: new Map() };
  located = new Map<string, Located>();
  legacy: ReadonlySet<string> = new Set();

  has(hash: string): boolean {
    return this.located.has(hash) || this.legacy.has(hash);
  }

  add(dir: PackDir, name: string, entries: PackEntry[]): void {
    this.files[dir].set(name, entries);
    // Insert-or-ignore: where a hash is in two packs (never under the run lock), the first one read is used.
    for (const entry of entries) if (!this.located.has(entry.hash)) this.located.set(entry.hash, { dir, name, entry });
  }

  /** Forgets the files no longer listed (and only then works out again where each blob is). */
  retain(listed: Record<PackDir, { has(name: string): boolean }>): void {
    let gone = false;
    for (const dir of PACK_DIRS) {
      for (const name of this.files[dir].keys()) {
        if (listed[dir].has(name)) continue;
        this.files[dir].delete(name);
        gone = true;
      }
    }
    if (!gone) return;
    const remaining = PACK_DIRS.flatMap((dir) => [...this.files[dir]].map(([name, entries]) => [dir, name, entries] as const));
    this.files.headers.clear();
    this.files.packs.clear();
    this.located = new Map();
    for (const [dir, name, entries] of remaining) this.add(dir, name, entries);
  }

  /** Files of `packs/` that hold no blob: not whole packs (torn by a crash on a file system that lets that happen). */
  unreadable(): string[] {
    return [...this.files.packs].filter(([, entries]) => entries.length === 0).map(([name]) => name);
  }
}

/**
 * A run's blobs, in packs (pack-file.ts) that each hold the new blobs of one write:
 * - `headers/<seq>-<id>.json`: a save writes the blobs the run lacks into its header file, after the header;
 * - `packs/<time>-<random>.pack`: blobs stored by `putBlobs`, kept blobs moved by a compaction, and the file of
 *   a deleted header whose blobs may still be referenced (linked here before the header goes);
 * - `packs/<seq>-<id>.json.dropped`: garbage collection dropped the blobs of that (live) header's file;
 * - `blobs/<hash>`: the previous layout's one file per blob, still read and collected, never written.
 *
 * Each process keeps an index of the packs it has read, per run (the `maxRuns` most recently used): packs never
 * change once named, so the index is refreshed from the listings when a read misses a hash or finds a pack gone,
 * and under the run lock before every write, which makes insert-or-ignore exact.
 */
export class RunBlobs {
  private readonly runs = new Map<string, RunIndex>();

  /** `ensureDir` creates a directory (and makes its name durable) once. */
  constructor(
    private readonly layout: RunLayout,
    private readonly ensureDir: (path: string) => void,
    private readonly maxRuns = 64,
  ) {}

  async read(runId: string, hashes: readonly string[]): Promise<Map<string, string>> {
    let index = this.runs.get(runId);
    if (index === undefined || hashes.some((hash) => !index!.has(hash))) index = this.refresh(runId);
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.readFrom(runId, index, hashes);
      } catch (error) {
        if (!isMissing(error) || attempt >= READ_ATTEMPTS) throw error;
      }
      index = this.refresh(runId);
    }
  }

  private async readFrom(runId: string, index: RunIndex, hashes: readonly string[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    const byPack = new Map<string, PackEntry[]>();
    for (const hash of new Set(hashes)) {
      const located = index.located.get(hash);
      if (located !== undefined) {
        const path = join(this.layout.runDir(runId), located.dir, located.name);
        const entries = byPack.get(path);
        if (entries) entries.push(located.entry);
        else byPack.set(path, [located.entry]);
      } else if (index.legacy.has(hash)) {
        const data = readIfExists(join(this.layout.blobsDir(runId), hash));
        if (data !== null) found.set(hash, data);
      }
    }
    for (const [path, entries] of byPack) {
      for (const [hash, data] of await readPackBlobs(path, entries)) found.set(hash, data);
    }
    return found;
  }

  /**
   * Caller holds the run lock: the blobs the run does not hold yet (each hash once), from a fresh listing, so no
   * other process can add them before the caller's own write is published.
   */
  newBlobs(runId: string, blobs: readonly BlobRecord[], headerNames?: string[]): BlobRecord[] {
    if (blobs.length === 0) return [];
    const index = this.refresh(runId, headerNames);
    const fresh = new Map<string, BlobRecord>();
    for (const blob of blobs) if (!index.has(blob.hash) && !fresh.has(blob.hash)) fresh.set(blob.hash, blob);
    return [...fresh.values()];
  }

  /** Records the header file a save published, with the blobs it carries (none: a header only). */
  savedHeader(runId: string, headerName: string, entries: PackEntry[]): void {
    this.runs.get(runId)?.add('headers', headerName, entries);
  }

  /** Caller holds the run lock: stores the blobs the run lacks, as one pack of their own. */
  async put(runId: string, blobs: readonly BlobRecord[], stage: Stage): Promise<void> {
    const fresh = this.newBlobs(runId, blobs);
    if (fresh.length > 0) await this.writePack(runId, fresh, stage);
  }

  /** Publishes a pack of `blobs` through the stage, durably. */
  private async writePack(runId: string, blobs: readonly BlobRecord[], stage: Stage): Promise<void> {
    const { text, entries } = encodePack('', blobs);
    const name = newPackName();
    const dir = this.packsDirToWrite(runId);
    await stage.publish(await stage.write(text, true), join(dir, name));
    fsyncDir(dir);
    this.runs.get(runId)?.add('packs', name, entries);
  }

  /**
   * Caller holds the run lock and is about to remove these header files: the blobs each one carries move to a pack
   * of their own first (a hard link, made durable), since later checkpoints may reference them. A header whose
   * blobs were dropped has nothing to keep; its marker goes (the blobs show again until the header is removed).
   */
  keepBlobsOf(runId: string, headerNames: readonly string[]): void {
    const index = this.refresh(runId);
    const packsDir = this.layout.packsDir(runId);
    let linked = false;
    for (const headerName of headerNames) {
      const entries = index.files.headers.get(headerName) ?? [];
      if (entries.length > 0) {
        this.ensureDir(packsDir);
        const name = newPackName();
        linkSync(join(this.layout.headersDir(runId), headerName), join(packsDir, name));
        index.add('packs', name, entries); // known already: the next refresh need not read it
        linked = true;
      }
      unlinkIfExists(join(packsDir, `${headerName}${DROPPED}`));
    }
    if (linked) fsyncDir(packsDir);
  }

  /** Whether `collect` has anything to do, from a fresh listing (no lock needed to answer no). */
  hasGarbage(runId: string, keep: ReadonlySet<string>): boolean {
    const index = this.refresh(runId);
    return index.unreadable().length > 0 || [...index.located.keys(), ...index.legacy].some((hash) => !keep.has(hash));
  }

  /**
   * Caller holds the run lock: deletes every blob not in `keep` and returns how many (each hash once). A pack that
   * loses blobs is compacted: its kept blobs go to a new pack, durable before the old one is removed (a header's
   * file is marked dropped instead: the header stays), so a kept blob always has a durable copy. Files of `packs/`
   * that are no whole pack go too.
   */
  async collect(runId: string, keep: ReadonlySet<string>, stage: Stage): Promise<number> {
    const index = this.refresh(runId);
    const deleted = new Set<string>();
    const blobsDir = this.layout.blobsDir(runId);
    const legacy = [...index.legacy].filter((hash) => !keep.has(hash));
    for (const hash of legacy) if (unlinkIfExists(join(blobsDir, hash))) deleted.add(hash);
    if (legacy.length > 0) fsyncDir(blobsDir);

    const unreadable = new Set(index.unreadable());
    const doomed = PACK_DIRS.flatMap((dir) =>
      [...index.files[dir]]
        .filter(([name, entries]) => (dir === 'packs' && unreadable.has(name)) || entries.some(({ hash }) => !keep.has(hash)))
        .map(([name, entries]) => ({ dir, name, entries })),
    );
    const isDoomed = (dir: PackDir, name: string) => doomed.some((pack) => pack.dir === dir && pack.name === name);
    // Kept blobs that a pack staying as it is already holds need no new copy.
    const held = new Set(
      PACK_DIRS.flatMap((dir) => [...index.files[dir]].filter(([name]) => !isDoomed(dir, name)).flatMap(([, entries]) => entries.map(({ hash }) => hash))),
    );
    const survivors: BlobRecord[] = [];
    for (const { dir, name, entries } of doomed) {
      const moving: PackEntry[] = [];
      for (const entry of entries) {
        if (!keep.has(entry.hash)) {
          deleted.add(entry.hash);
        } else if (!held.has(entry.hash)) {
          held.add(entry.hash);
          moving.push(entry);
        }
      }
      if (moving.length === 0) continue;
      for (const [hash, data] of await readPackBlobs(join(this.layout.runDir(runId), dir, name), moving)) survivors.push({ hash, data });
    }
    if (survivors.length > 0) await this.writePack(runId, survivors, stage);
    const packsDir = this.packsDirToWrite(runId);
    for (const { dir, name } of doomed) {
      if (dir === 'packs') stage.remove(join(packsDir, name));
      else await stage.publish(await stage.write('', false), join(packsDir, `${name}${DROPPED}`));
    }
    if (doomed.length > 0) fsyncDir(packsDir);
    this.refresh(runId);
    return deleted.size;
  }

  private packsDirToWrite(runId: string): string {
    const dir = this.layout.packsDir(runId);
    this.ensureDir(dir);
    return dir;
  }

  /**
   * Lists the run's packs and old-layout blobs, reading the index of every pack not seen before. `headerNames`: the
   * listing of `headers/` when the caller has just made it.
   */
  private refresh(runId: string, headerNames = listDir(this.layout.headersDir(runId))): RunIndex {
    const index = this.runs.get(runId) ?? new RunIndex();
    const packs = new Set<string>();
    const dropped = new Set<string>();
    for (const name of listDir(this.layout.packsDir(runId))) {
      if (name.endsWith(DROPPED)) dropped.add(name.slice(0, -DROPPED.length));
      else if (PACK_NAME.test(name)) packs.add(name);
    }
    // Usually `headers/` holds exactly the files known already (the run's history, which can be long): then it needs
    // no set of its own.
    const known = index.files.headers;
    const unchanged = dropped.size === 0 && headerNames.length === known.size && headerNames.every((name) => known.has(name));
    const headers = unchanged ? known : new Set(headerNames.filter((name) => !dropped.has(name)));
    index.retain({ headers, packs });
    const listed: Record<PackDir, Iterable<string>> = { headers: unchanged ? [] : headers.keys(), packs };
    for (const dir of PACK_DIRS) {
      for (const name of listed[dir]) {
        if (index.files[dir].has(name)) continue;
        // Other names in headers/ (a temp file the previous release left) are known as holding no blob.
        const isPack = dir === 'packs' || parseHeaderFileName(name) !== null;
        const entries = isPack ? readIndexIfExists(join(this.layout.runDir(runId), dir, name)) : [];
        if (entries) index.add(dir, name, entries);
      }
    }
    index.legacy = new Set(listDir(this.layout.blobsDir(runId)).filter((name) => !isTempName(name)));
    this.runs.delete(runId);
    this.runs.set(runId, index);
    while (this.runs.size > this.maxRuns) this.runs.delete(this.runs.keys().next().value!);
    return index;
  }
}

function newPackName(): string {
  return `${String(Date.now()).padStart(16, '0')}-${randomBytes(6).toString('hex')}.pack`;
}

/** A file's pack index: none when it is not a whole pack (a header alone), null when it is gone. */
function readIndexIfExists(path: string): PackEntry[] | null {
  try {
    return readPackIndex(path) ?? [];
  } catch (error) {
    if (isMissing(error)) return null;
    throw error;
  }
}
