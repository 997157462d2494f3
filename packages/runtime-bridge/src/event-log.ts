import type { CheckpointStore, EventRecord, NewEventRecord, StorageAdapter, WorkflowEvent } from '@savepoint/core';
import type { ChangeFeed } from './change-feed.js';
import type { RawEventEnvelope } from './events.js';
import { toJson } from './json.js';

/** A run's stream: its id in storage, the id its client knows it by, and the store that sealed its events. */
export interface FollowTarget {
  runId: string;
  publicId: string;
  store: CheckpointStore;
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
 * which the workflow emitted them while the workflow never waits for storage. Each event's data is sealed
 * with the run's workflow store (its redaction and encryption), so the log holds no plaintext secret.
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

  append(event: Pick<WorkflowEvent, 'runId' | 'type' | 'data' | 'ts' | 'nodeId'>, store: CheckpointStore): void {
    const record: NewEventRecord = { type: event.type, data: this.seal(event, store), ts: event.ts };
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

  async read(target: FollowTarget, afterSeq: number, limit = PAGE): Promise<RawEventEnvelope[]> {
    return (await this.adapter.readEvents(target.runId, afterSeq, limit)).map((record) => this.toEnvelope(record, target));
  }

  /**
   * Every event after `afterSeq`, then each new one as it is appended (by any process), until `signal`
   * aborts. The watch starts before each read, so an event appended in between is never missed.
   */
  async *follow(target: FollowTarget, afterSeq: number, signal: AbortSignal): AsyncGenerator<RawEventEnvelope> {
    const { runId } = target;
    const watch = this.feed.watch(runId, 'event');
    const onAbort = () => watch.wake();
    signal.addEventListener('abort', onAbort, { once: true });
    this.following += 1;
    try {
      let after = afterSeq;
      while (!signal.aborted) {
        const page = await this.read(target, after);
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

  /**
   * Event data is anything a node emits; it goes through plain JSON first (toJson gives a stand-in for what
   * JSON cannot hold), then the store's seal. Data the codec still refuses is replaced by a note, never lost silently.
   */
  private seal(event: Pick<WorkflowEvent, 'runId' | 'type' | 'data' | 'nodeId'>, store: CheckpointStore): string {
    const payload = JSON.parse(toJson(event.nodeId === undefined ? { data: event.data } : { nodeId: event.nodeId, data: event.data })) as Payload;
    try {
      return store.sealPayload(payload);
    } catch (error) {
      this.onError(error, `storing the data of a ${event.type} event of run ${event.runId}; it is logged without it`);
      return store.sealPayload({ ...payload, data: { unstorable: true } });
    }
  }

  /** A stored event as clients see it; a payload that fails to open (tampered) is reported and sent without data. */
  private toEnvelope(record: EventRecord, target: FollowTarget): RawEventEnvelope {
    let payload: Payload;
    try {
      payload = target.store.openPayload(record.data) as Payload;
    } catch (error) {
      this.onError(error, `opening event ${record.seq} of run ${target.publicId}`);
      payload = { data: null };
    }
    return {
      seq: record.seq,
      runId: target.publicId,
      type: record.type,
      data: payload?.data ?? null,
      ts: record.ts,
      ...(typeof payload?.nodeId === 'string' ? { nodeId: payload.nodeId } : {}),
    };
  }
}

type Payload = { nodeId?: unknown; data?: unknown } | null;
