// What must hold for one run of test/crash-worker.cjs's workflow after every kill and once it has completed
// (DESIGN §5 invariants 2, 3, 6, 7 and the run head). Each check returns the problems it found as sentences.
import { readFileSync } from 'node:fs';
import type { LoadedCheckpoint, RunReport } from './inspector.js';

/** The worker's nodes: a = x + 1, b = a * 2, c = a + 10, d = b + c, e = d * 3, f = e - 1 (the flow's output). */
export const DEPENDS_ON: Record<string, string[]> = { a: [], b: ['a'], c: ['a'], d: ['b', 'c'], e: ['d'], f: ['e'] };
const NODE_IDS = Object.keys(DEPENDS_ON);

export function expectedValues(x: number): Record<string, number> {
  const a = x + 1;
  const b = a * 2;
  const c = a + 10;
  const d = b + c;
  const e = d * 3;
  return { a, b, c, d, e, f: e - 1 };
}

export type Loaded = Extract<LoadedCheckpoint, { nodes: unknown }>;

/** Everything the test has seen of one run so far, checked against each new look at its storage. */
export class RunHistory {
  /** Per node, the execution (`tok`) whose output a checkpoint recorded: once seen, it never changes. */
  readonly committed = new Map<string, string>();
  private highestHeadSeq = -1;
  private readonly expected: Record<string, number>;

  constructor(
    readonly runId: string,
    input: number,
  ) {
    this.expected = expectedValues(input);
  }

  /**
   * After a kill: getHead is the listed checkpoint with the highest seq (never behind), seqs are unique, every
   * listed checkpoint loads, the head never moves back nor loses a committed node, and each checkpoint records
   * the committed executions, with the right values, and only after their dependencies (durability 'sync').
   */
  observe(report: RunReport): string[] {
    const problems: string[] = [];
    const { head, listed } = report;
    const top = listed[0];
    if (head !== (top?.id ?? null)) {
      const headSeq = listed.find((c) => c.id === head)?.seq;
      problems.push(`getHead() is ${head} (seq ${headSeq ?? 'not listed'}) but the highest listed checkpoint is ${top?.id ?? 'none'} (seq ${top?.seq ?? '-'})`);
    }
    for (let i = 1; i < listed.length; i++) {
      if (listed[i]!.seq >= listed[i - 1]!.seq) problems.push(`seq ${listed[i]!.seq} is listed after seq ${listed[i - 1]!.seq}: seqs are not unique and strictly increasing`);
    }
    for (const c of listed) {
      const parent = listed.find((p) => p.id === c.parent);
      if (parent !== undefined && parent.seq >= c.seq) problems.push(`checkpoint seq ${c.seq} has a parent with seq ${parent.seq}`);
    }
    const loaded: Loaded[] = [];
    for (const c of report.loaded) {
      if (c.error !== undefined) problems.push(`listed checkpoint ${c.id} does not load: ${c.error} (${c.message})`);
      else loaded.push(c);
    }
    // Oldest first, so a node's first recorded execution is the one every later checkpoint must repeat.
    for (const checkpoint of [...loaded].reverse()) problems.push(...this.observeCheckpoint(checkpoint));

    const headCheckpoint = loaded.find((c) => c.id === head);
    if (top !== undefined && top.seq < this.highestHeadSeq) problems.push(`the head moved back from seq ${this.highestHeadSeq} to seq ${top.seq}`);
    this.highestHeadSeq = Math.max(this.highestHeadSeq, top?.seq ?? -1);
    if (headCheckpoint !== undefined) {
      for (const node of this.committed.keys()) {
        if (headCheckpoint.nodes[node]?.status !== 'success') problems.push(`the head (seq ${headCheckpoint.seq}) lost committed node ${node}`);
      }
    } else if (this.committed.size > 0) {
      problems.push(`the run has committed nodes (${[...this.committed.keys()].join(', ')}) but no loadable head`);
    }
    return problems;
  }

  private observeCheckpoint(checkpoint: Loaded): string[] {
    const problems: string[] = [];
    for (const node of NODE_IDS) {
      const state = checkpoint.nodes[node];
      if (state?.status !== 'success') continue;
      if (state.v !== this.expected[node]) problems.push(`seq ${checkpoint.seq} records ${node} = ${state.v}, expected ${this.expected[node]}`);
      const missing = DEPENDS_ON[node]!.filter((dep) => checkpoint.nodes[dep]?.status !== 'success');
      if (missing.length > 0) problems.push(`seq ${checkpoint.seq} records ${node} but not its dependencies ${missing.join(', ')} (durability 'sync')`);
      const known = this.committed.get(node);
      if (known === undefined) this.committed.set(node, state.tok!);
      else if (known !== state.tok) problems.push(`seq ${checkpoint.seq} records ${node} from execution ${state.tok}, but ${known} had been committed: a committed node ran again`);
    }
    return problems;
  }
}

interface Execution {
  line: number;
  node: string;
  attempt: number;
  key: string;
  phase: 'start' | 'end';
  tok: string;
  pid: number;
  inputs: string[];
}

/** The worker's fsynced journal: `<runId> <node> <attempt> <idempotencyKey> start|end <tok> <input toks or ->`. */
function readJournal(path: string, runId: string): Execution[] {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${runId} `))
    .map((line, index) => {
      const [, node, attempt, key, phase, tok, inputs] = line.split(' ');
      return {
        line: index,
        node: node!,
        attempt: Number(attempt),
        key: key!,
        phase: phase as Execution['phase'],
        tok: tok!,
        pid: Number(tok!.split('.')[0]),
        inputs: inputs === '-' ? [] : inputs!.split(','),
      };
    });
}

/**
 * Once the run has completed: the journal against the head. Invariant 2 (the execution a checkpoint recorded is
 * the node's last one, and its dependents ran on the recorded outputs), invariant 3 (every other execution was
 * in a worker that was killed or fenced off before its completion was committed, with the same idempotency key)
 * and the run's `output` being f's recorded execution.
 */
export function checkJournal(history: RunHistory, journalPath: string, head: Loaded, interrupted: ReadonlySet<number>, output: unknown): string[] {
  const problems: string[] = [];
  const journal = readJournal(journalPath, history.runId);
  const recorded = new Map(NODE_IDS.map((node) => [node, head.nodes[node]]));
  for (const node of NODE_IDS) {
    const state = recorded.get(node);
    if (state?.status !== 'success') {
      problems.push(`the completed head does not record ${node} as a success`);
      continue;
    }
    const lines = journal.filter((e) => e.node === node);
    const keys = [...new Set(lines.map((e) => e.key))];
    if (keys.length !== 1 || keys[0] !== `${history.runId}:${node}`) problems.push(`${node} ran with idempotency keys ${keys.join(', ')}`);
    const producer = lines.find((e) => e.phase === 'end' && e.tok === state.tok);
    if (producer === undefined || !lines.some((e) => e.phase === 'start' && e.tok === state.tok)) {
      problems.push(`no journalled execution of ${node} produced the recorded output ${state.tok}`);
      continue;
    }
    if (producer.attempt !== state.attempt) problems.push(`${node}: recorded attempt ${state.attempt}, its execution was attempt ${producer.attempt}`);
    const after = lines.filter((e) => e.line > producer.line);
    if (after.length > 0) problems.push(`${node} ran again after its execution ${state.tok} was committed: ${after.map((e) => `${e.phase} ${e.tok}`).join(', ')}`);
    const lost = lines.filter((e) => e.tok !== state.tok && !interrupted.has(e.pid));
    if (lost.length > 0) problems.push(`${node} has uncommitted executions by workers that were neither killed nor fenced off: ${lost.map((e) => e.tok).join(', ')}`);
    const inputs = DEPENDS_ON[node]!.map((dep) => recorded.get(dep)?.tok);
    if (producer.inputs.join(',') !== inputs.join(',')) problems.push(`${node} ran on inputs ${producer.inputs.join(',')}, not the recorded ${inputs.join(',')}`);
  }
  const f = recorded.get('f');
  const { v, tok } = (output ?? {}) as { v?: number; tok?: string };
  if (f?.status === 'success' && (v !== f.v || tok !== f.tok)) problems.push(`the run's output ${JSON.stringify(output)} is not f's recorded execution ${f.tok}`);
  return problems;
}
