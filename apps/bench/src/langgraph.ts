// LangGraph.js's SQLite checkpointer driven through the same two workloads as Savepoint, on a database opened
// with the same pragmas, so the side-by-side ratios compare designs rather than settings.
import { join } from 'node:path';
import { emptyCheckpoint, type Checkpoint, type CheckpointMetadata } from '@langchain/langgraph-checkpoint';
import { SqliteSaver } from '@langchain/langgraph-checkpoint-sqlite';
import { message } from './fixtures.js';
import { openSqlite } from './floors.js';
import { summarize } from './stats.js';
import { AGENT_LOOPS, SMALL_SAVES, diskBytes, type AgentResult, type SmallResult } from './workloads.js';

export type Config = { configurable: { thread_id: string; checkpoint_ns: string; checkpoint_id?: string } };

export function langGraphCheckpoint(channelValues: Record<string, unknown>, version: number): Checkpoint {
  const checkpoint = emptyCheckpoint();
  checkpoint.channel_values = channelValues;
  checkpoint.channel_versions = Object.fromEntries(Object.keys(channelValues).map((name) => [name, version]));
  return checkpoint;
}

export function metadata(step: number): CheckpointMetadata {
  return { source: 'loop', step, parents: {} };
}

export function openSqliteSaver(path: string): SqliteSaver {
  return new SqliteSaver(openSqlite(path));
}

export async function langGraphSmallSaves(dir: string): Promise<SmallResult> {
  const saver = openSqliteSaver(join(dir, 'langgraph.db'));
  const saves: number[] = [];
  const loads: number[] = [];
  let config: Config = { configurable: { thread_id: 'small-run', checkpoint_ns: '' } };
  for (let seq = 1; seq <= SMALL_SAVES; seq++) {
    const checkpoint = langGraphCheckpoint({ fetch: { seq, docs: ['a', 'b'] } }, seq);
    let t = performance.now();
    config = (await saver.put(config, checkpoint, metadata(seq))) as Config;
    saves.push(performance.now() - t);
    t = performance.now();
    await saver.getTuple(config);
    loads.push(performance.now() - t);
  }
  saver.db.close();
  return { save: summarize(saves), load: summarize(loads) };
}

/** The agent history in a fresh database: every checkpoint holds the whole message list, as LangGraph's channels do. */
export async function langGraphAgent(dir: string): Promise<AgentResult> {
  const saver = openSqliteSaver(join(dir, 'langgraph.db'));
  const messages: Array<Readonly<{ role: string; content: string }>> = [];
  const times: number[] = [];
  let config: Config = { configurable: { thread_id: 'agent-run', checkpoint_ns: '' } };
  for (let loop = 1; loop <= AGENT_LOOPS; loop++) {
    messages.push(message(loop));
    const checkpoint = langGraphCheckpoint({ messages: [...messages] }, loop);
    const t = performance.now();
    config = (await saver.put(config, checkpoint, metadata(loop))) as Config;
    times.push(performance.now() - t);
  }
  const rowBytes = saver.db
    .prepare('SELECT sum(length(checkpoint)) + sum(length(metadata)) FROM checkpoints WHERE thread_id = ?')
    .pluck()
    .get('agent-run') as number;
  saver.db.close(); // checkpoints the WAL into the database file

  const first = summarize(times.slice(0, 10)).p50;
  const last = summarize(times.slice(-10)).p50;
  return { loops: AGENT_LOOPS, totalBytes: rowBytes, fileBytes: diskBytes(dir), firstSaveMs: first, lastSaveMs: last, lastOverFirst: last / first };
}
