import { join } from 'node:path';
import { CorruptCheckpointError, type EventRecord, type NewEventRecord } from '@savepoint/core';
import { listDir, readIfExists, unlinkIfExists } from './fs-entries.js';

// Zero-padded so that a directory listing sorts segments by seq, like header files.
const SEQ_WIDTH = 16;
const SEGMENT_NAME = /^(\d{16})-(\d{16})\.ndjson$/;

interface Segment {
  name: string;
  first: number;
  last: number;
}

/** One line of a segment: the event without its runId, which the directory gives. */
interface StoredEvent {
  seq: number;
  type: string;
  data: string;
  ts: number;
}

/**
 * A run's event log on disk: each `appendEvents` call writes one NDJSON segment named by the seqs it holds,
 * `events/<first>-<last>.ndjson`, fsynced and renamed into place, then the directory fsynced. The names alone give
 * the next seq, so appending reads no event; a segment appears whole or not at all, so a crash never tears one.
 * Appends must hold the run lock and publish through its stage (the caller's job): that is what keeps seqs
 * unique across processes, also when a stalled appender wakes up after its lock was broken.
 */
export class EventLog {
  constructor(private readonly maxEventsPerRun: number) {}

  /**
   * Caller holds the run lock; `publish` writes a file durably through its stage. Writes the segment, then
   * removes segments entirely older than the kept window.
   */
  async append(
    dir: string,
    runId: string,
    events: readonly NewEventRecord[],
    publish: (path: string, text: string) => Promise<void>,
  ): Promise<EventRecord[]> {
    const segments = listSegments(dir);
    const last = segments.at(-1)?.last ?? 0;
    const appended = events.map((event, i): EventRecord => ({ runId, seq: last + 1 + i, type: event.type, data: event.data, ts: event.ts }));
    const text = appended.map(({ seq, type, data, ts }) => `${JSON.stringify({ seq, type, data, ts } satisfies StoredEvent)}\n`).join('');
    const newest = last + appended.length;
    await publish(join(dir, segmentName(last + 1, newest)), text);
    // A segment straddling the window's start stays (readers skip its old events): trimming is by whole files.
    const floor = newest - this.maxEventsPerRun;
    for (const segment of segments) if (segment.last <= floor) unlinkIfExists(join(dir, segment.name));
    return appended;
  }

  /** Needs no lock: segments are immutable, and one removed by a concurrent trim held only events below the window. */
  async read(dir: string, runId: string, afterSeq: number, limit = Infinity): Promise<EventRecord[]> {
    const segments = listSegments(dir);
    const newest = segments.at(-1)?.last ?? 0;
    const floor = Math.max(afterSeq, newest - this.maxEventsPerRun);
    const found: EventRecord[] = [];
    for (const segment of segments) {
      if (found.length >= limit) break;
      if (segment.last <= floor) continue;
      const path = join(dir, segment.name);
      const text = readIfExists(path);
      if (text === null) continue;
      for (const event of parseSegment(text, segment, path)) {
        if (event.seq > floor && found.length < limit) found.push({ runId, ...event });
      }
    }
    return found;
  }
}

function segmentName(first: number, last: number): string {
  return `${String(first).padStart(SEQ_WIDTH, '0')}-${String(last).padStart(SEQ_WIDTH, '0')}.ndjson`;
}

/** The run's segments in seq order; temp files and anything else in the directory are not segments. */
function listSegments(dir: string): Segment[] {
  const segments: Segment[] = [];
  for (const name of listDir(dir)) {
    const match = SEGMENT_NAME.exec(name);
    if (match) segments.push({ name, first: Number(match[1]), last: Number(match[2]) });
  }
  return segments.sort((a, b) => a.first - b.first);
}

/** A segment is written whole, so one that does not hold exactly the seqs its name promises was damaged on disk. */
function parseSegment(text: string, segment: Segment, path: string): StoredEvent[] {
  const lines = text.split('\n');
  if (lines.pop() === '' && lines.length === segment.last - segment.first + 1) {
    const events = lines.map(parseLine);
    if (events.every((event, i) => event !== null && event.seq === segment.first + i)) return events as StoredEvent[];
  }
  throw new CorruptCheckpointError(
    `The event log segment ${path} is damaged: it should hold events ${segment.first} to ${segment.last}. ` +
      'Restore it from a backup, or delete it to drop those events from the log.',
  );
}

function parseLine(line: string): StoredEvent | null {
  try {
    const value = JSON.parse(line) as Partial<StoredEvent> | null;
    if (value === null || typeof value !== 'object') return null;
    const { seq, type, data, ts } = value;
    return typeof seq === 'number' && typeof type === 'string' && typeof data === 'string' && typeof ts === 'number' ? { seq, type, data, ts } : null;
  } catch {
    return null;
  }
}
