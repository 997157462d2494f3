// The two workloads DESIGN §9 measures, driven through Savepoint's CheckpointStore.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckpointStore } from '@savepoint/core';
import { checkpoint, message, nodeState } from './fixtures.js';
import { summarize, type Summary } from './stats.js';

export const SMALL_SAVES = Number(process.env.BENCH_SAVES ?? 300);
export const AGENT_LOOPS = 200;

export interface SmallResult {
  save: Summary;
  load: Summary;
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
}

/** A run of small checkpoints (one node state of a few bytes changes each time), each saved then loaded. */
export async function smallSaves(store: CheckpointStore, runId: string): Promise<SmallResult> {
  const saves: number[] = [];
  const loads: number[] = [];
  let parent: string | null = null;
  for (let seq = 1; seq <= SMALL_SAVES; seq++) {
    const cp = checkpoint(runId, seq, parent, { fetch: nodeState('fetch', { seq, docs: ['a', 'b'] }) });
    let t = performance.now();
    await store.save(cp, { expectedHead: parent });
    saves.push(performance.now() - t);
    t = performance.now();
    await store.load(cp.id);
    loads.push(performance.now() - t);
    parent = cp.id;
  }
  return { save: summarize(saves), load: summarize(loads) };
}

/** 200 agent loops, each appending a 2 KB message to the agent's history and checkpointing the whole state. */
export async function agentHistory(store: CheckpointStore, runId: string): Promise<Omit<AgentResult, 'fileBytes'>> {
  const messages: Array<Readonly<{ role: string; content: string }>> = [];
  const times: number[] = [];
  let bytes = 0;
  let parent: string | null = null;
  for (let loop = 1; loop <= AGENT_LOOPS; loop++) {
    messages.push(message(loop));
    const state = nodeState('agent', undefined, { loop, messages: [...messages] });
    const cp = checkpoint(runId, loop, parent, { agent: { ...state, status: 'running' } });
    const t = performance.now();
    const result = await store.save(cp, { expectedHead: parent });
    times.push(performance.now() - t);
    bytes += result.bytesWritten;
    parent = cp.id;
  }
  const first = summarize(times.slice(0, 10)).p50;
  const last = summarize(times.slice(-10)).p50;
  return { loops: AGENT_LOOPS, totalBytes: bytes, firstSaveMs: first, lastSaveMs: last, lastOverFirst: last / first };
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
