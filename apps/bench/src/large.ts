// Large states (issue 10 part 2): one checkpoint holding 1 MB or 5 MB, as an agent history of many short
// messages or as one large string, saved then loaded on a fresh run. Each repetition writes different bytes so
// content addressing cannot skip the work; the figure is the median of the repetitions.
import type { BaseCheckpointSaver } from '@langchain/langgraph-checkpoint';
import type { CheckpointStore } from '@savepoint/core';
import { checkpoint, nodeState } from './fixtures.js';
import { langGraphCheckpoint, metadata, type Config } from './langgraph.js';
import { elapsedMs, median } from './stats.js';

export const LARGE_REPS = Number(process.env.BENCH_LARGE_REPS ?? 5);
const MB = 1024 * 1024;

export type LargeShape = 'messages' | 'string';

export interface LargeScenario {
  shape: LargeShape;
  megabytes: number;
}

export const LARGE_SCENARIOS: readonly LargeScenario[] = [1, 5].flatMap((megabytes) =>
  (['messages', 'string'] as const).map((shape) => ({ shape, megabytes })),
);

export interface LargeResult extends LargeScenario {
  /** Bytes of the state's JSON. */
  bytes: number;
  saveMs: number;
  loadMs: number;
}

export const scenarioName = (s: LargeScenario) => `${s.megabytes} MB ${s.shape === 'messages' ? 'messages' : 'string'}`;

/** ~210-byte chat messages (4.8 k per MB, as measured in the issue), tagged with the repetition. */
function messages(rep: number, bytes: number): Array<Readonly<{ role: string; content: string }>> {
  const one = (i: number) => Object.freeze({ role: i % 2 ? 'assistant' : 'user', content: `r${rep} m${i} `.padEnd(180, 'x') });
  const count = Math.ceil(bytes / JSON.stringify(one(0)).length);
  return Array.from({ length: count }, (_, i) => one(i));
}

/** The state of one scenario's repetition: `{ messages }` or `{ text }`. */
export function largeState(s: LargeScenario, rep: number): Record<string, unknown> {
  const bytes = s.megabytes * MB;
  return s.shape === 'messages' ? { messages: messages(rep, bytes) } : { text: `r${rep} `.padEnd(bytes, 'y') };
}

async function measure(
  scenarios: readonly LargeScenario[],
  once: (s: LargeScenario, rep: number, state: Record<string, unknown>) => Promise<{ saveMs: number; loadMs: number }>,
): Promise<LargeResult[]> {
  const results: LargeResult[] = [];
  for (const s of scenarios) {
    const saves: number[] = [];
    const loads: number[] = [];
    let bytes = 0;
    for (let rep = 0; rep < LARGE_REPS; rep++) {
      const state = largeState(s, rep);
      bytes = JSON.stringify(state).length;
      const { saveMs, loadMs } = await once(s, rep, state);
      saves.push(saveMs);
      loads.push(loadMs);
    }
    results.push({ ...s, bytes, saveMs: median(saves), loadMs: median(loads) });
  }
  return results;
}

/** Each repetition is the first checkpoint of a run of its own, loaded back by id. */
export function largeSavepoint(store: CheckpointStore): Promise<LargeResult[]> {
  return measure(LARGE_SCENARIOS, async (s, rep, state) => {
    const cp = checkpoint(`large-${s.shape}-${s.megabytes}-${rep}`, 1, null, {
      agent: nodeState('agent', undefined, state),
    });
    const saveMs = await elapsedMs(() => store.save(cp, { expectedHead: null }));
    const loadMs = await elapsedMs(() => store.load(cp.id));
    return { saveMs, loadMs };
  });
}

/** The same states as one LangGraph channel value each, `put` on a thread of its own and read back by `getTuple`. */
export function largeLangGraph(saver: BaseCheckpointSaver): Promise<LargeResult[]> {
  return measure(LARGE_SCENARIOS, async (s, rep, state) => {
    const start: Config = { configurable: { thread_id: `large-${s.shape}-${s.megabytes}-${rep}`, checkpoint_ns: '' } };
    const cp = langGraphCheckpoint(state, 1);
    let config = start;
    // New versions name the channels to store: the PostgreSQL saver writes only those as blobs.
    const saveMs = await elapsedMs(async () => {
      config = (await saver.put(start, cp, metadata(1), cp.channel_versions)) as Config;
    });
    const loadMs = await elapsedMs(() => saver.getTuple(config));
    return { saveMs, loadMs };
  });
}
