// LangGraph.js's SQLite checkpointer driven through the same two workloads as Savepoint, on a database opened
// with the same pragmas, so the side-by-side ratios compare designs rather than settings.
import { join } from 'node:path';
import { emptyCheckpoint, type BaseCheckpointSaver, type Checkpoint, type CheckpointMetadata } from '@langchain/langgraph-checkpoint';
import { SqliteSaver } from '@langchain/langgraph-checkpoint-sqlite';
import { message, smallValue } from './fixtures.js';
import { openSqlite } from './floors.js';
import { summarize } from './stats.js';
import { AGENT_LOOPS, SMALL_SAVES, agentSummary, diskBytes, type AgentResult, type AgentSteps, type SmallResult } from './workloads.js';

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

/** The small-save workload on any LangGraph saver (the caller opens and closes it). */
export async function langGraphSmallSaves(saver: BaseCheckpointSaver): Promise<SmallResult> {
  const saves: number[] = [];
  const loads: number[] = [];
  let stateBytes = 0;
  let config: Config = { configurable: { thread_id: 'small-run', checkpoint_ns: '' } };
  for (let seq = 1; seq <= SMALL_SAVES; seq++) {
    const value = smallValue(seq);
    stateBytes = JSON.stringify(value).length;
    const checkpoint = langGraphCheckpoint({ fetch: value }, seq);
    let t = performance.now();
    // New versions name the channels to store: the PostgreSQL saver writes only those as blobs.
    config = (await saver.put(config, checkpoint, metadata(seq), checkpoint.channel_versions)) as Config;
    saves.push(performance.now() - t);
    t = performance.now();
    await saver.getTuple(config);
    loads.push(performance.now() - t);
  }
  return { save: summarize(saves), load: summarize(loads), stateBytes };
}

/** Bytes of the row `put` just wrote: its checkpoint and metadata columns. */
function rowBytes(saver: SqliteSaver, config: Config): number {
  return saver.db
    .prepare('SELECT length(checkpoint) + length(metadata) FROM checkpoints WHERE thread_id = ? AND checkpoint_id = ?')
    .pluck()
    .get(config.configurable.thread_id, config.configurable.checkpoint_id) as number;
}

/** The agent history in a fresh database: every checkpoint holds the whole message list, as LangGraph's channels do. */
export async function langGraphAgent(dir: string): Promise<AgentResult> {
  const saver = openSqliteSaver(join(dir, 'langgraph.db'));
  const messages: Array<Readonly<{ role: string; content: string }>> = [];
  const steps: AgentSteps = { bytes: [], ms: [] };
  let config: Config = { configurable: { thread_id: 'agent-run', checkpoint_ns: '' } };
  for (let loop = 1; loop <= AGENT_LOOPS; loop++) {
    messages.push(message(loop));
    const checkpoint = langGraphCheckpoint({ messages: [...messages] }, loop);
    const t = performance.now();
    config = (await saver.put(config, checkpoint, metadata(loop))) as Config;
    steps.ms.push(performance.now() - t);
    steps.bytes.push(rowBytes(saver, config));
  }
  saver.db.close(); // checkpoints the WAL into the database file
  return { ...agentSummary(steps), fileBytes: diskBytes(dir) };
}
