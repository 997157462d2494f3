// The two workloads DESIGN §9 measures, driven through Savepoint's CheckpointStore.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckpointStore } from '@savepoint/core';
import { checkpoint, message, nodeState, smallValue } from './fixtures.js';
import { summarize, type Summary } from './stats.js';

export const SMALL_SAVES = Number(process.env.BENCH_SAVES ?? 300);
export const AGENT_LOOPS = 200;

export interface SmallResult {
  save: Summary;
  load: Summary;
  /** JSON size of the value each small checkpoint changes (the x of the save-vs-size chart). */
  stateBytes: number;
}

export interface AgentResult {
  loops: number;
  /** Bytes handed to storage (Savepoint: blob data + header bodies; LangGraph: checkpoint + metadata columns). */
  totalBytes: number;
  /** Size of the storage on disk after the run (null for memory). */
  fileBytes: number | null;
  /** p50 of the first 10 saves and of the last 10. */
  firstSaveMs: number;
  lastSaveMs: number;
  lastOverFirst: number;
  /** Each step's bytes handed to storage and save latency, in step order (for the agent-history chart). */
  steps: AgentSteps;
}

export interface AgentSteps {
  bytes: number[];
  ms: number[];
}

/** The whole-history figures of the agent's steps. */
export function agentSummary(steps: AgentSteps): Omit<AgentResult, 'fileBytes'> {
  const first = summarize(steps.ms.slice(0, 10)).p50;
  const last = summarize(steps.ms.slice(-10)).p50;
  const totalBytes = steps.bytes.reduce((sum, bytes) => sum + bytes, 0);
  return { loops: steps.ms.length, totalBytes, firstSaveMs: first, lastSaveMs: last, lastOverFirst: last / first, steps };
}

/** A run of small checkpoints (one node state of a few bytes changes each time), each saved then loaded. */
export async function smallSaves(store: CheckpointStore, runId: string): Promise<SmallResult> {
  const saves: number[] = [];
  const loads: number[] = [];
  let stateBytes = 0;
  let parent: string | null = null;
  for (let seq = 1; seq <= SMALL_SAVES; seq++) {
    const value = smallValue(seq);
    stateBytes = JSON.stringify(value).length;
    const cp = checkpoint(runId, seq, parent, { fetch: nodeState('fetch', value) });
    let t = performance.now();
    await store.save(cp, { expectedHead: parent });
    saves.push(performance.now() - t);
    t = performance.now();
    await store.load(cp.id);
    loads.push(performance.now() - t);
    parent = cp.id;
  }
  return { save: summarize(saves), load: summarize(loads), stateBytes };
}

/** 200 agent loops, each appending a 2 KB message to the agent's history and checkpointing the whole state. */
export async function agentHistory(store: CheckpointStore, runId: string): Promise<Omit<AgentResult, 'fileBytes'>> {
  const messages: Array<Readonly<{ role: string; content: string }>> = [];
  const steps: AgentSteps = { bytes: [], ms: [] };
  let parent: string | null = null;
  for (let loop = 1; loop <= AGENT_LOOPS; loop++) {
    messages.push(message(loop));
    const state = nodeState('agent', undefined, { loop, messages: [...messages] });
    const cp = checkpoint(runId, loop, parent, { agent: { ...state, status: 'running' } });
    const t = performance.now();
    const result = await store.save(cp, { expectedHead: parent });
    steps.ms.push(performance.now() - t);
    steps.bytes.push(result.bytesWritten);
    parent = cp.id;
  }
  return agentSummary(steps);
}

/** Total size of the files under a directory, each inode once (the file backend's indexes are hard links). */
export function diskBytes(dir: string): number {
  const sizes = new Map<number, number>();
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const info = statSync(join(entry.parentPath, entry.name));
    sizes.set(info.ino, info.size);
  }
  let total = 0;
  for (const size of sizes.values()) total += size;
  return total;
}
