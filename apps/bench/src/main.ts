// Measures what DESIGN §9 targets, prints each result and writes results/latest.json, latest.md and two SVG
// charts (see README.md):
// - small save / load latency per backend, next to that backend's storage floor on this machine;
// - 200 agent loops appending 2 KB each: bytes written and on disk, and the cost of the 200th save vs the first;
// - the same two workloads on LangGraph.js's SQLite checkpointer, with Savepoint-on-SQLite / LangGraph ratios;
// - 1 MB and 5 MB states saved and loaded on every backend and on LangGraph's SQLite and PostgreSQL savers;
// - the engine scenarios (engine.ts): a parallel flow, engine overhead, 100 concurrent runs, resume;
// then every target of issue 10 with `met` / `missed`, the total time, and a last line counting the targets (the
// exit code is 0 either way; non-zero only when the bench or an engine scenario fails).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PostgresSaver } from '@langchain/langgraph-checkpoint-postgres';
import { CheckpointStore, MemoryAdapter, type StorageAdapter } from '@savepoint/core';
import { FileBackend } from '@savepoint/backend-file';
import { SqliteBackend } from '@savepoint/backend-sqlite';
import { writeCharts } from './charts.js';
import { CALL_MS, concurrentRuns } from './concurrent-runs.js';
import { concurrentLine, overheadLine, printLarge, printRow, printSmall, ratio, resumeLine, throughputLine } from './console-lines.js';
import { attempt, localEngineScenarios, succeeded, type EngineResults } from './engine.js';
import { fileFloor, sqliteFloor } from './floors.js';
import { readableJson } from './json-text.js';
import { largeLangGraph, largeSavepoint, type LargeResult } from './large.js';
import { langGraphAgent, langGraphSmallSaves, openSqliteSaver } from './langgraph.js';
import { updateBenchmarksDoc } from './benchmarks-doc.js';
import { markdown } from './markdown.js';
import { targetsOf } from './report.js';
import { reachableServerCases, type ServerCase } from './servers.js';
import type { Summary } from './stats.js';
import { SMALL_SAVES, agentHistory, diskBytes, smallSaves, type AgentResult, type SmallResult } from './workloads.js';

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
  /** LangGraph's saver on the same server (PostgreSQL): the small saves and the same large states. */
  langGraphSmall?: SmallResult | { error: string };
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
    const smallSaver = openSqliteSaver(join(root, 'small', 'langgraph.db'));
    const small = await langGraphSmallSaves(smallSaver).finally(() => smallSaver.db.close());
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
    let saver: PostgresSaver;
    try {
      saver = await server.langGraph();
    } catch (error) {
      return { ...result, langGraphSmall: failure(error), langGraphLarge: failure(error) };
    }
    result.langGraphSmall = await langGraphSmallSaves(saver).catch(failure);
    result.langGraphLarge = await largeLangGraph(saver).catch(failure);
  }
  return result;
}

function printEngine(engine: EngineResults): void {
  for (const [name, r] of Object.entries(engine.parallel)) if (succeeded(r)) console.log(throughputLine(name, r));
  if (succeeded(engine.overhead)) console.log(overheadLine(engine.overhead));
  if (succeeded(engine.resume)) for (const r of [engine.resume.flow, engine.resume.agent]) console.log(resumeLine(r));
}

async function main() {
  const started = performance.now();
  const root = mkdtempSync(join(tmpdir(), 'savepoint-bench-'));
  const results: Record<string, unknown> = {};
  try {
    for (const c of cases) {
      const result = await runCase(c, join(root, c.name));
      results[c.name] = result;
      printRow(c.name, result);
      printLarge(c.name, result.large);
    }
    const engine = await localEngineScenarios(join(root, 'engine'));
    results.engine = engine;
    printEngine(engine);
    const servers = await reachableServerCases();
    for (const skipped of servers.skipped) console.log(`SKIPPED ${skipped}: its figures and targets are left out`);
    for (const server of servers.cases) {
      try {
        const result = await runServerCase(server, join(root, server.name));
        results[server.name] = result;
        printRow(server.name, result);
        printLarge(server.name, result.large);
        printSmall(`langgraph-${server.name}`, result.langGraphSmall);
        printLarge(`langgraph-${server.name}`, result.langGraphLarge);
        for (const callMs of [0, CALL_MS]) {
          const name = callMs === 0 ? server.name : `${server.name}, ${callMs} ms calls`;
          const concurrent = await attempt(`engine concurrent runs (${name})`, () => concurrentRuns(server.create(), callMs));
          engine.concurrent[name] = concurrent;
          if (succeeded(concurrent)) console.log(concurrentLine(name, concurrent));
        }
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
  const totalSeconds = (performance.now() - started) / 1000;
  writeFileSync(join(dir, 'latest.json'), readableJson({ date, node: process.version, saves: SMALL_SAVES, totalSeconds, results }));
  const tables = markdown(results, targets, `Run of ${date}, Node ${process.version}, ${totalSeconds.toFixed(0)} s in all.`);
  writeFileSync(join(dir, 'latest.md'), tables);
  const charts = writeCharts(dir, results);
  const doc = join(__dirname, '..', '..', '..', 'BENCHMARKS.md');
  const docUpdated = updateBenchmarksDoc(doc, tables);
  console.log(`results written to ${join(dir, 'latest.json')}, latest.md, ${charts.join(', ')}${docUpdated ? ` and ${doc}` : ''}`);
  console.log('');
  targets.print((line) => console.log(line));
  console.log(`total time: ${totalSeconds.toFixed(1)} s`);
  console.log(targets.summary());
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
