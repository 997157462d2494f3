// Measures what DESIGN §9 targets, prints a table and writes results/latest.json (see README.md):
// - small save / load latency per backend, next to that backend's storage floor on this machine;
// - 200 agent loops appending 2 KB each: bytes written and on disk, and the cost of the 200th save vs the first;
// - the same two workloads on LangGraph.js's SQLite checkpointer, with Savepoint-on-SQLite / LangGraph ratios;
// - 1 MB and 5 MB states saved and loaded on every backend and on LangGraph's SQLite and PostgreSQL savers;
// then every target of issue 10 with `met` / `missed`, and a last line counting them (the exit code is 0 either way).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointStore, MemoryAdapter, type StorageAdapter } from '@savepoint/core';
import { FileBackend } from '@savepoint/backend-file';
import { SqliteBackend } from '@savepoint/backend-sqlite';
import { fileFloor, sqliteFloor } from './floors.js';
import { largeLangGraph, largeSavepoint, scenarioName, type LargeResult } from './large.js';
import { langGraphAgent, langGraphSmallSaves, openSqliteSaver } from './langgraph.js';
import { reachableServerCases, type ServerCase } from './servers.js';
import type { Summary } from './stats.js';
import { markdown } from './markdown.js';
import { targetsOf } from './report.js';
import { AGENT_LOOPS, SMALL_SAVES, agentHistory, diskBytes, smallSaves, type AgentResult, type SmallResult } from './workloads.js';

interface BackendCase {
  name: string;
  create(dir: string): StorageAdapter;
  floor?(dir: string, samples: number): Summary | Promise<Summary>;
  /** Whether the backend keeps its data under `dir` (so its size on disk can be measured). */
  onDisk: boolean;
}

const cases: BackendCase[] = [
  { name: 'memory', create: () => new MemoryAdapter(), onDisk: false },
  { name: 'file', create: (dir) => new FileBackend({ dir }), floor: fileFloor, onDisk: true },
  { name: 'sqlite', create: (dir) => new SqliteBackend({ path: join(dir, 'bench.db') }), floor: sqliteFloor, onDisk: true },
];

export interface CaseResult {
  small: SmallResult;
  floor: Summary | null;
  saveOverFloor: number | null;
  agent: AgentResult;
  large: LargeResult[];
  /** LangGraph's saver on the same server (PostgreSQL), same large states. */
  langGraphLarge?: LargeResult[] | { error: string };
}

export interface LangGraphResult {
  small: SmallResult;
  agent: AgentResult;
  large: LargeResult[];
}

async function withStore<T>(c: BackendCase, dir: string, work: (store: CheckpointStore) => Promise<T>): Promise<T> {
  mkdirSync(dir, { recursive: true });
  const adapter = c.create(dir);
  const store = new CheckpointStore(adapter);
  await store.setup();
  try {
    return await work(store);
  } finally {
    await adapter.close?.();
  }
}

async function runCase(c: BackendCase, root: string): Promise<CaseResult> {
  const small = await withStore(c, join(root, 'small'), (store) => smallSaves(store, 'small-run'));
  // The agent history gets a storage of its own so its size on disk is the history's alone.
  const agentDir = join(root, 'agent');
  const agent = await withStore(c, agentDir, (store) => agentHistory(store, 'agent-run'));
  const floor = (await c.floor?.(root, SMALL_SAVES)) ?? null;
  const large = await withStore(c, join(root, 'large'), largeSavepoint);
  return {
    small,
    floor,
    saveOverFloor: floor ? small.save.p50 / floor.p50 : null,
    agent: { ...agent, fileBytes: c.onDisk ? diskBytes(agentDir) : null },
    large,
  };
}

const failure = (error: unknown) => ({ error: String((error as Error)?.stack ?? error) });

async function runLangGraph(root: string): Promise<LangGraphResult | { error: string }> {
  try {
    for (const sub of ['small', 'agent', 'large']) mkdirSync(join(root, sub), { recursive: true });
    const small = await langGraphSmallSaves(join(root, 'small'));
    const agent = await langGraphAgent(join(root, 'agent'));
    const saver = openSqliteSaver(join(root, 'large', 'langgraph.db'));
    try {
      return { small, agent, large: await largeLangGraph(saver) };
    } finally {
      saver.db.close();
    }
  } catch (error) {
    return failure(error);
  }
}

async function runServerCase(server: ServerCase, root: string): Promise<CaseResult> {
  const c: BackendCase = { name: server.name, create: () => server.create(), floor: (_dir, n) => server.floor(n), onDisk: false };
  const result = await runCase(c, root);
  if (server.langGraph) {
    try {
      result.langGraphLarge = await largeLangGraph(await server.langGraph());
    } catch (error) {
      result.langGraphLarge = failure(error);
    }
  }
  return result;
}

const ms = (x: number) => `${x.toFixed(3)} ms`;
const ms1 = (x: number) => `${x.toFixed(1)} ms`;
const kib = (x: number | null) => (x === null ? '-' : `${(x / 1024).toFixed(0)} KiB`);
const ratio = (x: number) => `${x.toFixed(2)}x`;

function printRow(name: string, r: { small: SmallResult; agent: AgentResult; floor?: Summary | null }): void {
  const { small, agent } = r;
  const floor = r.floor ? ` | floor p50 ${ms(r.floor.p50)} (save/floor ${ratio(small.save.p50 / r.floor.p50)})` : '';
  console.log(
    `${name.padEnd(16)} save p50 ${ms(small.save.p50)} p99 ${ms(small.save.p99)} | load p50 ${ms(small.load.p50)} p99 ${ms(small.load.p99)}${floor}` +
      ` | agent ${AGENT_LOOPS} loops: ${kib(agent.totalBytes)} written, ${kib(agent.fileBytes)} on disk, 200th/1st save ${ratio(agent.lastOverFirst)}`,
  );
}

function printLarge(name: string, large: LargeResult[] | { error: string } | undefined): void {
  if (!large) return;
  if ('error' in large) {
    console.log(`${name.padEnd(18)} large states could not run: ${large.error.split('\n')[0]}`);
    return;
  }
  const cells = large.map((r) => `${scenarioName(r)} ${ms1(r.saveMs)} / ${ms1(r.loadMs)}`);
  console.log(`${name.padEnd(18)} large save / load (median): ${cells.join(' | ')}`);
}

async function main() {
  const root = mkdtempSync(join(tmpdir(), 'savepoint-bench-'));
  const results: Record<string, unknown> = {};
  try {
    for (const c of cases) {
      const result = await runCase(c, join(root, c.name));
      results[c.name] = result;
      printRow(c.name, result);
      printLarge(c.name, result.large);
    }
    const servers = await reachableServerCases();
    for (const skipped of servers.skipped) console.log(`skipped ${skipped}`);
    for (const server of servers.cases) {
      try {
        const result = await runServerCase(server, join(root, server.name));
        results[server.name] = result;
        printRow(server.name, result);
        printLarge(server.name, result.large);
        printLarge(`langgraph-${server.name}`, result.langGraphLarge);
      } finally {
        await server.dispose();
      }
    }
    const langgraph = await runLangGraph(join(root, 'langgraph'));
    results['langgraph-sqlite'] = langgraph;
    if ('error' in langgraph) {
      console.log(`langgraph-sqlite could not run: ${langgraph.error.split('\n')[0]}`);
    } else {
      printRow('langgraph-sqlite', langgraph);
      printLarge('langgraph-sqlite', langgraph.large);
      const ours = results.sqlite as CaseResult;
      const vs = {
        saveP50: ours.small.save.p50 / langgraph.small.save.p50,
        loadP50: ours.small.load.p50 / langgraph.small.load.p50,
        agentBytesWritten: ours.agent.totalBytes / langgraph.agent.totalBytes,
        agentBytesOnDisk: ours.agent.fileBytes! / langgraph.agent.fileBytes!,
        agentLastSave: ours.agent.lastSaveMs / langgraph.agent.lastSaveMs,
      };
      results['sqlite-vs-langgraph'] = vs;
      console.log(
        `savepoint sqlite / langgraph sqlite: small save p50 ${ratio(vs.saveP50)}, load p50 ${ratio(vs.loadP50)}, ` +
          `agent bytes written ${ratio(vs.agentBytesWritten)}, on disk ${ratio(vs.agentBytesOnDisk)}, 200th save ${ratio(vs.agentLastSave)}`,
      );
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  const targets = targetsOf(results);
  results.targets = targets.checks;
  const dir = join(__dirname, '..', 'results');
  mkdirSync(dir, { recursive: true });
  const date = new Date().toISOString();
  writeFileSync(join(dir, 'latest.json'), JSON.stringify({ date, node: process.version, saves: SMALL_SAVES, results }, null, 2) + '\n');
  writeFileSync(join(dir, 'latest.md'), markdown(results, targets, `Run of ${date}, Node ${process.version}.`));
  console.log(`results written to ${join(dir, 'latest.json')} and latest.md`);
  console.log('');
  targets.print((line) => console.log(line));
  console.log(targets.summary());
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
