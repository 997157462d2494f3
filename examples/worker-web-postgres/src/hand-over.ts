import { Handoff, type ResumeOptions, type RunOptions, type Workflow } from '@savepoint/core';

/** Long enough for an answered question's node to record its answer before the run is handed over. */
const GRACE_MS = 30_000;

/**
 * Wraps a workflow for a process that serves the API but executes no work: every execution the runtime starts
 * there is handed to the workers the way `runtime.close()` hands runs over on a deploy. It is checkpointed
 * `paused` with its lease released, the runtime notifies the other processes, and a worker's reaper resumes it
 * at once (PostgreSQL LISTEN/NOTIFY; at its next pass on backends without notifications).
 *
 * - A new run stops before its first node: the web process only commits its first checkpoint (so `POST /runs`
 *   answers once the run exists) and hands it over.
 * - A resume (an answer to a run nobody holds, an explicit resume or fork) lets the first node finish, so an
 *   answered question records its answer here, then hands the run over.
 */
export function handOverToWorkers<W extends Workflow<any, any, any>>(workflow: W): W {
  const run = (input: unknown, options: RunOptions = {}) => workflow.run(input, { ...options, handoff: begun() });
  const resume = async (options: ResumeOptions = {}) => {
    const handoff = new Handoff();
    const runId = options.forkRunId ?? options.runId;
    const stopAfterFirstNode = (event: { runId: string }) => {
      if (runId === undefined || event.runId === runId) handoff.begin(GRACE_MS);
    };
    const unsubscribe = [workflow.on('approval_received', stopAfterFirstNode), workflow.on('node_completed', stopAfterFirstNode)];
    try {
      return await workflow.resume({ ...options, handoff } as ResumeOptions);
    } finally {
      for (const stop of unsubscribe) stop();
    }
  };
  return new Proxy(workflow, {
    get: (target, property, receiver) => (property === 'run' ? run : property === 'resume' ? resume : Reflect.get(target, property, receiver)),
  });
}

function begun(): Handoff {
  const handoff = new Handoff();
  handoff.begin(GRACE_MS);
  return handoff;
}
