// What the client knows of the server's workflows, at the type level only (see client.ts).
import type { CheckpointStatus, CheckpointSummary, Workflow } from '@savepoint/core';
import type { Jsonified } from './jsonified.js';
import type { DeletedRun, RunListItem, RunView } from './run-service.js';

/** Workflows by the name clients use, as `createRuntime({ workflows })` takes them. */
export type AnyWorkflows = Record<string, Workflow<any, any, any>>;

/**
 * The workflows a client is typed by: `typeof runtime` (a `Runtime` from `createRuntime`) or a record of workflows
 * by name (`{ research: typeof research }`). Anything else: any name, inputs and outputs `unknown`.
 */
export type WorkflowsOf<T> = T extends AnyWorkflows ? T : T extends { readonly '~workflows'?: infer W } ? (NonNullable<W> extends AnyWorkflows ? NonNullable<W> : AnyWorkflows) : AnyWorkflows;

/** The names `POST /runs` accepts. */
export type WorkflowName<W> = keyof W & string;

/** What workflow `K` takes as input (`unknown` for a client typed by no workflows). */
export type RunInputOf<W, K extends keyof W> = string extends keyof W ? unknown : W[K] extends Workflow<infer I, any, any> ? I : unknown;

/** What workflow `K` returns (`unknown` for a client typed by no workflows). */
export type RunOutputOf<W, K extends keyof W> = string extends keyof W ? unknown : W[K] extends Workflow<any, infer O, any> ? O : unknown;

/** A run and the workflow it runs: what `startRun` returns; `events()` and the other methods take it for a runId. */
export interface RunRef<K extends string = string> {
  runId: string;
  workflow: K;
}

/** A run just started (`202` of `POST /runs`). */
export interface StartedRun<K extends string = string> extends RunRef<K> {
  status: 'active';
}

/** `GET /runs/:id` as received: `output` typed by the run's workflow (narrow on `workflow`), dates as ISO strings. */
export type RunInfo<W = AnyWorkflows> = {
  [K in WorkflowName<W>]: Jsonified<Omit<RunView, 'workflow' | 'output'>> & { workflow: K; output?: Jsonified<RunOutputOf<W, K>> };
}[WorkflowName<W>];

/** One entry of `GET /runs`, as received. */
export type RunSummary<W = AnyWorkflows> = {
  [K in WorkflowName<W>]: Jsonified<Omit<RunListItem, 'workflow'>> & { workflow: K };
}[WorkflowName<W>];

export interface ListRunsQuery<W = AnyWorkflows> {
  status?: CheckpointStatus;
  workflow?: WorkflowName<W>;
  /** Only runs the caller started. */
  mine?: boolean;
  /** Runs per page: 1-500, default 50. */
  limit?: number;
  /** A previous page's `nextCursor`: the page after it (same filters). */
  cursor?: string;
}

/** One page of `GET /runs`. */
export interface RunPage<W = AnyWorkflows> {
  runs: Array<RunSummary<W>>;
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

/** One checkpoint of `GET /runs/:id/checkpoints`, as received (dates as ISO strings). */
export type CheckpointInfo = Jsonified<CheckpointSummary>;

export interface ListCheckpointsQuery {
  /** Checkpoints per page: 1-1000, default 100. */
  limit?: number;
  /** A previous page's `nextCursor`: the page after it. */
  cursor?: string;
}

/** One page of `GET /runs/:id/checkpoints`, newest first. */
export interface CheckpointPage {
  checkpoints: CheckpointInfo[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

/** `DELETE /runs/:id`'s answer. */
export type RunDeletion = DeletedRun;
