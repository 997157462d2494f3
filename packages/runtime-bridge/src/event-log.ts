import type { EventRecord, NewEventRecord, StorageAdapter, WorkflowEvent } from '@savepoint/core';
import type { ChangeFeed } from './change-feed.js';
import { toJson } from './json.js';

/** What SSE, NDJSON and WebSocket clients receive: one event of a run, numbered by the backend's log. */
export interface EventEnvelope {
  /** Per run, strictly increasing from 1: the SSE `id`, the `after` / `Last-Event-ID` to resume from. */
  seq: number;
  runId: string;
  type: string;
  data: unknown;
  /** Epoch milliseconds. */
  ts: number;
  /** The nodePath that emitted it, for node events. */
  nodeId?: string;
}

interface Queue {
  pending: NewEventRecord[];
  draining: Promise<void> | undefined;
}

const PAGE = 500;
const RETRY_DELAYS_MS = [50, 250, 1_000];

/**
 * The runs' event streams, stored in the backend's event log so any process can replay them. Appends
 * are queued per run and sent in batches, one batch in flight per run, so the log keeps the order in
 * which the workflow emitted them while the workflow never waits for storage.
 */
export class EventLog {
  private readonly queues = new Map<string, Queue>();
  /** Streams currently following a run (SSE, NDJSON, WebSocket subscriptions). */
  following = 0;

  constructor(
    private readonly adapter: StorageAdapter & Required<Pick<StorageAdapter, 'appendEvents' | 'readEvents'>>,
    private readonly feed: ChangeFeed,
    private readonly onError: (error: unknown, context: string) => void,
  ) {}

  append(event: Pick<WorkflowEvent, 'runId' | 'type' | 'data' | 'ts' | 'nodeId'>): void {
    const record: NewEventRecord = {
      type: event.type,
      data: toJson(event.nodeId === undefined ? { data: event.data } : { nodeId: event.nodeId, data: event.data }),
      ts: event.ts,
    };
    let queue = this.queues.get(event.runId);
    if (!queue) this.queues.set(event.runId, (queue = { pending: [], draining: undefined }));
    queue.pending.push(record);
    queue.draining ??= this.drain(event.runId, queue);
  }

  /** Waits until everything appended so far is stored (or given up on). */
  async flush(runId?: string): Promise<void> {
    const queues = runId === undefined ? [...this.queues.values()] : [this.queues.get(runId)];
    await Promise.all(queues.map((queue) => queue?.draining));
  }

  async read(runId: string, afterSeq: number, limit = PAGE): Promise<EventEnvelope[]> {
    return (await this.adapter.readEvents(runId, afterSeq, limit)).map(toEnvelope);
  }

  /**
   * Every event after `afterSeq`, then each new one as it is appended (by any process), until `signal`
   * aborts. The watch starts before each read, so an event appended in between is never missed.
   */
  async *follow(runId: string, afterSeq: number, signal: AbortSignal): AsyncGenerator<EventEnvelope> {
    const watch = this.feed.watch(runId, 'event');
    const onAbort = () => watch.wake();
    signal.addEventListener('abort', onAbort, { once: true });
    this.following += 1;
    try {
      let after = afterSeq;
      while (!signal.aborted) {
        const page = await this.read(runId, after);
        for (const envelope of page) {
          if (signal.aborted) return;
          yield envelope;
          after = envelope.seq;
        }
        if (page.length < PAGE && !signal.aborted) await watch.changed();
      }
    } finally {
      this.following -= 1;
      signal.removeEventListener('abort', onAbort);
      watch.close();
    }
  }

  private async drain(runId: string, queue: Queue): Promise<void> {
    while (queue.pending.length > 0) {
      const batch = queue.pending.splice(0);
      const stored = await this.store(runId, batch);
      const last = stored?.at(-1);
      if (last) await this.feed.notify({ runId, kind: 'event', seq: last.seq });
    }
    queue.draining = undefined;
    this.queues.delete(runId);
  }

  /** A backend blip must not lose events: a few retries, then the batch is reported and dropped. */
  private async store(runId: string, batch: NewEventRecord[]): Promise<EventRecord[] | undefined> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.adapter.appendEvents(runId, batch);
      } catch (error) {
        const delay = RETRY_DELAYS_MS[attempt];
        if (delay === undefined) {
          this.onError(error, `appending ${batch.length} event(s) of run ${runId}; they are lost`);
          return undefined;
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }
}

function toEnvelope(record: EventRecord): EventEnvelope {
  let payload: { nodeId?: unknown; data?: unknown };
  try {
    payload = JSON.parse(record.data) as { nodeId?: unknown; data?: unknown };
  } catch {
    payload = { data: record.data };
  }
  return {
    seq: record.seq,
    runId: record.runId,
    type: record.type,
    data: payload?.data ?? null,
    ts: record.ts,
    ...(typeof payload?.nodeId === 'string' ? { nodeId: payload.nodeId } : {}),
  };
}
