// Engine scenario (d): how long a resume takes before the engine runs the next step, for a 200-node run and for
// an agent holding 201 messages, on SQLite. Each repetition runs a fresh run until one step fails on purpose
// (a failed checkpoint is committed); then a second Workflow over a second SqliteBackend on the same file (a
// warm worker that never saw the run, as after a crash) calls `resume({ runId })`. The figure is the time from
// that call until the engine invokes the next step's user code: the failed node's function, or the agent's LLM.
// It covers reading the head, taking the lease, loading and verifying the checkpoint, rebuilding the run state
// and scheduling the node.
import { join } from 'node:path';
import { Agent, Flow, FunctionNode, ScriptedLLM, type ChatRequest, type NodeContext, type ScriptedStep } from '@savepoint/core';
import { SqliteBackend } from '@savepoint/backend-sqlite';
import { checkpointCounter, checkpointingWorkflow, ENGINE_REPS, expectStatus } from './engine-runs.js';
import { layeredFlow, nodeCount, nodeFunctions, type LayeredShape } from './layered-flow.js';
import { median } from './stats.js';

export const RESUME_SHAPE: LayeredShape = { layers: 25, width: 8, source: false, sink: false };
/** Tool calls before the agent's LLM fails: a user message plus an assistant and a tool message per call. */
export const AGENT_TOOL_CALLS = 100;

export interface ResumeResult {
  what: string;
  /** Checkpoints the run committed before it was resumed (median). */
  checkpoints: number;
  reps: number;
  /** Median time from `resume()` to the next step's user code. */
  resumeMs: number;
}

/** The hooks of one scenario: the flow, and a way to make a run's step fail once. */
interface Scenario {
  what: string;
  flow: Flow;
  /** Makes the next step of run `runId` fail once; `rerunAt` reads when the resume ran it again. */
  arm(rep: number): { runId: string; input: unknown; rerunAt: () => number | undefined };
}

/** Runs `scenario` on SQLite under `dir`: one worker runs until the failure, another resumes. */
async function measureResume(dir: string, scenario: Scenario): Promise<ResumeResult> {
  const path = join(dir, `${scenario.flow.id}.db`);
  const runner = new SqliteBackend({ path });
  const resumer = new SqliteBackend({ path });
  const running = checkpointingWorkflow(scenario.flow, runner);
  const resuming = checkpointingWorkflow(scenario.flow, resumer);
  const checkpointsOf = checkpointCounter(running);
  await resuming.store!.setup();
  const samples: Array<{ ms: number; checkpoints: number }> = [];
  try {
    // Repetition 0 warms up the resuming worker (prepared statements, JIT) and is not counted.
    for (let rep = 0; rep <= ENGINE_REPS; rep++) {
      const { runId, input, rerunAt } = scenario.arm(rep);
      expectStatus(await running.run(input, { runId }), 'failure');
      const t = performance.now();
      expectStatus(await resuming.resume({ runId }), 'success');
      const at = rerunAt();
      if (at === undefined) throw new Error(`${scenario.what}: the resumed run did not run the failed step again`);
      if (rep > 0) samples.push({ ms: at - t, checkpoints: checkpointsOf(runId) });
    }
  } finally {
    await runner.close();
    await resumer.close();
  }
  return {
    what: scenario.what,
    checkpoints: median(samples.map((s) => s.checkpoints)),
    reps: samples.length,
    resumeMs: median(samples.map((s) => s.ms)),
  };
}

/** The 200-node flow: its last node fails once per armed run. */
function layeredScenario(): Scenario {
  const failing = 'l25-n8';
  const armed = new Set<string>();
  const rerun = new Map<string, number>();
  const fns = nodeFunctions(RESUME_SHAPE, (id) => (_input: unknown, ctx?: NodeContext) => {
    const { runId } = ctx!;
    if (id === failing && armed.delete(runId)) throw new Error('injected failure');
    if (id === failing) rerun.set(runId, performance.now());
    return { node: id, run: runId };
  });
  return {
    what: `${nodeCount(RESUME_SHAPE)}-node run (${RESUME_SHAPE.layers} layers of ${RESUME_SHAPE.width}), its last node failed`,
    flow: layeredFlow('resume-layers', RESUME_SHAPE, fns),
    arm(rep) {
      const runId = `resume-layers-${rep}`;
      armed.add(runId);
      return { runId, input: { rep }, rerunAt: () => rerun.get(runId) };
    },
  };
}

/**
 * An agent that called a tool AGENT_TOOL_CALLS times (each result 2 KB, so it holds 1 + 2 x 100 messages); its
 * next LLM call fails once per armed run. The prompt is the runId, so the model can tell the runs apart.
 */
function agentScenario(): Scenario {
  const armed = new Set<string>();
  const asked = new Map<string, number>();
  const respond = (request: ChatRequest): ScriptedStep => {
    const runId = request.messages[0]!.content;
    const turn = request.messages.filter((m) => m.role === 'assistant').length + 1;
    if (turn <= AGENT_TOOL_CALLS) return { toolCalls: [{ name: 'lookup', arguments: { step: turn } }] };
    if (armed.delete(runId)) return new Error('injected LLM failure');
    asked.set(runId, performance.now());
    return 'done';
  };
  const lookup = new FunctionNode({
    id: 'lookup',
    run: ({ step }: { step: number }, ctx: NodeContext) => `${ctx.runId} step ${step} `.padEnd(2048, 'x'),
  });
  const agent = new Agent({ id: 'agent', llm: new ScriptedLLM(respond), tools: [lookup], maxLoops: AGENT_TOOL_CALLS + 1 });
  return {
    what: `agent holding ${1 + 2 * AGENT_TOOL_CALLS} messages (${AGENT_TOOL_CALLS} tool results of 2 KB), its LLM call failed`,
    flow: new Flow({ id: 'resume-agent', nodes: [agent] }),
    arm(rep) {
      const runId = `resume-agent-${rep}`;
      armed.add(runId);
      return { runId, input: runId, rerunAt: () => asked.get(runId) };
    },
  };
}

export interface ResumeResults {
  flow: ResumeResult;
  agent: ResumeResult;
}

export async function resumeScenarios(dir: string): Promise<ResumeResults> {
  return { flow: await measureResume(dir, layeredScenario()), agent: await measureResume(dir, agentScenario()) };
}
