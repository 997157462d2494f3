import { join } from 'node:path';
import { compareInputs, CorruptCheckpointError, newInputRecord, type InputRecord, type NewInputRecord } from '@savepoint/core';
import { createOnce, fsyncDir, isTempName } from './atomic-write.js';
import { listDir, readIfExists } from './fs-entries.js';

const RECORD_SUFFIX = '.json';

/** Where one run's inbox lives: `inbox/<key>.json` per answer, `inbox/consumed/<key>.json` once taken. */
export interface InboxDirs {
  inbox: string;
  consumed: string;
}

/**
 * A run's input inbox on disk, needing no lock. Both steps of an input's life create a file that never
 * changes afterwards, with `createOnce` (only one racing creator wins, across processes):
 * - `putInput` creates `inbox/<key>.json`: the idempotency key is the file name, so a key is stored once;
 * - `takeInputs` creates `inbox/consumed/<key>.json` (the record with its consumer): whoever creates it
 *   consumed that input, so each input is consumed exactly once however many processes take at a time.
 * An input is never removed from `inbox/`, so a lookup that misses `consumed/` always finds it there.
 */
export class InputInbox {
  /** `ensureDir` creates a directory (and makes its name durable) once. */
  constructor(private readonly ensureDir: (path: string) => void) {}

  async put(dirs: InboxDirs, runId: string, input: NewInputRecord): Promise<{ created: boolean; record: InputRecord }> {
    this.ensureDir(dirs.inbox);
    const record = newInputRecord(runId, input);
    if (await createOnce(join(dirs.inbox, fileName(input.key)), serialize(record))) {
      fsyncDir(dirs.inbox); // an input acknowledged as created must survive a crash
      return { created: true, record };
    }
    return { created: false, record: (await this.get(dirs, input.key))! };
  }

  /** The consumed record wins: it is written after the input and never removed. */
  async get(dirs: InboxDirs, key: string): Promise<InputRecord | null> {
    return readRecord(join(dirs.consumed, fileName(key))) ?? readRecord(join(dirs.inbox, fileName(key)));
  }

  async take(dirs: InboxDirs, consumer: string, consumedAt: number): Promise<InputRecord[]> {
    const [inbox, consumed] = [recordKeys(dirs.inbox), recordKeys(dirs.consumed)];
    const waiting = [...inbox].filter((key) => !consumed.has(key));
    if (waiting.length === 0) return [];
    this.ensureDir(dirs.consumed);
    const claims = await Promise.all(
      waiting.map(async (key) => {
        const input = readRecord(join(dirs.inbox, fileName(key)))!;
        const record: InputRecord = { ...input, consumedBy: consumer, consumedAt };
        return (await createOnce(join(dirs.consumed, fileName(key)), serialize(record))) ? record : null;
      }),
    );
    const taken = claims.filter((record): record is InputRecord => record !== null);
    // Durable before it is handed out: after a crash, an input already returned must not be returned again.
    if (taken.length > 0) fsyncDir(dirs.consumed);
    return taken.sort(compareInputs);
  }
}

function fileName(key: string): string {
  return `${key}${RECORD_SUFFIX}`;
}

/** Keys of the records in a directory (not temp files, not the `consumed` subdirectory). */
function recordKeys(dir: string): Set<string> {
  const names = listDir(dir).filter((name) => name.endsWith(RECORD_SUFFIX) && !isTempName(name));
  return new Set(names.map((name) => name.slice(0, -RECORD_SUFFIX.length)));
}

function serialize(record: InputRecord): string {
  return `${JSON.stringify(record, null, 2)}\n`;
}

/** Records are published whole (`createOnce`), so one that does not parse was damaged on disk. */
function readRecord(path: string): InputRecord | null {
  const text = readIfExists(path);
  if (text === null) return null;
  try {
    const value = JSON.parse(text) as InputRecord;
    if (typeof value.key === 'string' && typeof value.value === 'string') return value;
  } catch {
    // reported below
  }
  throw new CorruptCheckpointError(`The inbox record ${path} is damaged; restore it from a backup or delete it.`);
}
