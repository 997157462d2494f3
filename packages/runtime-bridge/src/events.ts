// The events clients receive, typed. Types only: the client entry point uses them without loading server code.
import type { WorkflowEventMap } from '@savepoint/core';
import type { Jsonified } from './jsonified.js';

/** What SSE, NDJSON and WebSocket clients receive for any event, whatever its type: one event of a run, numbered by the backend's log. */
export interface RawEventEnvelope<T = unknown, K extends string = string> {
  /** Per run, strictly increasing from 1: the SSE `id`, the `after` / `Last-Event-ID` to resume from. */
  seq: number;
  runId: string;
  type: K;
  data: T;
  /** Epoch milliseconds. */
  ts: number;
  /** The nodePath that emitted it, for node events. */
  nodeId?: string;
}

/** Event data as the runtime sends it: core's `WorkflowEventMap`, plus who canceled a run canceled through the runtime. */
export type RuntimeEventData<K extends keyof WorkflowEventMap, I = unknown, O = unknown> = K extends 'run_canceled'
  ? WorkflowEventMap<I, O>[K] & { by?: string }
  : WorkflowEventMap<I, O>[K];

/** One event of type `K`, its `data` typed (as JSON: a Date in it arrives as a string). */
export type EventEnvelopeOf<K extends keyof WorkflowEventMap, I = unknown, O = unknown> = RawEventEnvelope<Jsonified<RuntimeEventData<K, I, O>>, K & string>;

/**
 * Any event of a run whose workflow takes `I` and returns `O`: narrow it on `type`
 * (`if (event.type === 'run_completed') event.data.output`). Custom events (`ctx.emit`) are typed once declared on
 * core's `WorkflowEventMap` (`declare module '@savepoint/core' { interface WorkflowEventMap<I, O> { my_event: { … } } }`);
 * an undeclared type still arrives, read it as a `RawEventEnvelope`.
 */
export type EventEnvelope<I = unknown, O = unknown> = { [K in keyof WorkflowEventMap]: EventEnvelopeOf<K, I, O> }[keyof WorkflowEventMap];
