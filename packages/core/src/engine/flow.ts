import type { z } from 'zod';
import { InvalidArgumentError } from '../errors.js';
import type { NodeCheckpointState } from '../models/checkpoint.js';
import { assertSafeId } from '../store/safe-id.js';
import { questionsBelow, type Node, type Question } from './node.js';
import type { AnswerMap, FlowAnswers, FlowInput, FlowOutput, FlowTypes, OpenAnswers } from './node-types.js';
import { pathBelongsTo } from './node-path.js';
import { NodeDefaults, parseExecutionOption, type ResolvedNodeDefaults } from './retry-policy.js';

export interface FlowOptions<N extends Node = Node, Id extends string = string> {
  id: Id;
  /** The flow's nodes: their types make the flow's input (what its root nodes take) and output (its sinks'). */
  nodes: readonly N[];
  /** How many nodes may execute at once. */
  concurrency?: number;
  /** `retry` and `timeoutMs` for every node of this flow that sets none (wherever the flow runs, also as a Subflow). */
  nodeDefaults?: NodeDefaults;
}

/**
 * A validated DAG of nodes. Like nodes, a flow is a definition shared by every run. Its input (what its root nodes
 * take), output (its sinks') and the answers its questions take are computed from its nodes' types.
 */
export interface Flow<I = any, O = unknown, A extends AnswerMap = OpenAnswers, Id extends string = string> {
  readonly id: Id;
  readonly nodes: readonly Node[];
  readonly concurrency: number;
  readonly nodeDefaults: ResolvedNodeDefaults;
  /** Nodes no other node depends on: their outputs form the flow's output. */
  readonly sinks: readonly Node[];
  /** Type-level only, never set (see `FlowTypes`). */
  readonly '~types'?: FlowTypes<I, O, A>;
  node(id: string): Node | undefined;
  /** The dependency of `node` that selects branches (validated to exist when `node.branch` is set). */
  branchSource(node: Node): Node | undefined;
  outputOf(nodeStates: Readonly<Record<string, NodeCheckpointState>>): unknown;
  /** The zod schema awaited at `nodePath`, asked of the top-level node that owns the path. */
  inputSchemaFor(nodePath: string): z.ZodType | undefined;
  /** Every question the flow's nodes may ask, by nodePath (`[*]` = any index), e.g. to publish their JSON Schemas. */
  questions(): Question[];
}

/** `new Flow({ id, nodes })`: typed by its nodes. */
export interface FlowConstructor {
  new <const Id extends string, N extends Node>(options: FlowOptions<N, Id>): Flow<FlowInput<N>, FlowOutput<N>, FlowAnswers<N>, Id>;
  readonly prototype: Flow;
}

export const Flow = class Flow {
  readonly id: string;
  readonly nodes: readonly Node[];
  readonly concurrency: number;
  readonly nodeDefaults: ResolvedNodeDefaults;
  readonly sinks: readonly Node[];
  private readonly byId: ReadonlyMap<string, Node>;

  constructor(options: FlowOptions) {
    assertSafeId(options.id, 'Flow id');
    const concurrency = options.concurrency ?? 4;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new InvalidArgumentError(`Flow "${options.id}": concurrency must be a positive integer, got ${concurrency}.`);
    }
    if (options.nodes.length === 0) throw new InvalidArgumentError(`Flow "${options.id}" has no nodes: add at least one.`);
    this.id = options.id;
    this.nodes = [...options.nodes];
    this.concurrency = concurrency;
    this.nodeDefaults = parseExecutionOption(NodeDefaults, options.nodeDefaults ?? {}, `Flow "${options.id}"`, 'nodeDefaults');
    this.byId = indexNodes(this.id, this.nodes);
    checkDependencies(this.id, this.nodes, this.byId);
    checkAcyclic(this.id, this.nodes);
    const depended = new Set(this.nodes.flatMap((node) => node.dependsOn));
    this.sinks = this.nodes.filter((node) => !depended.has(node.id));
  }

  node(id: string): Node | undefined {
    return this.byId.get(id);
  }

  branchSource(node: Node): Node | undefined {
    return node.dependsOn.map((id) => this.byId.get(id)!).find((dep) => dep.isBranching);
  }

  outputOf(nodeStates: Readonly<Record<string, NodeCheckpointState>>): unknown {
    if (this.sinks.length === 1) return nodeStates[this.sinks[0]!.id]?.output;
    return Object.fromEntries(this.sinks.map((sink) => [sink.id, nodeStates[sink.id]?.output]));
  }

  inputSchemaFor(nodePath: string): z.ZodType | undefined {
    const owner = this.nodes.find((node) => pathBelongsTo(nodePath, node.id));
    return owner?.inputSchemaFor(nodePath.slice(owner.id.length));
  }

  questions(): Question[] {
    return this.nodes.flatMap((node) => questionsBelow(node.id, node.questions()));
  }
} as FlowConstructor;

function indexNodes(flowId: string, nodes: readonly Node[]): Map<string, Node> {
  const byId = new Map<string, Node>();
  for (const node of nodes) {
    if (byId.has(node.id)) throw new InvalidArgumentError(`Flow "${flowId}": two nodes have the id "${node.id}"; ids must be unique.`);
    byId.set(node.id, node);
  }
  return byId;
}

function checkDependencies(flowId: string, nodes: readonly Node[], byId: ReadonlyMap<string, Node>): void {
  for (const node of nodes) {
    for (const dep of node.dependsOn) {
      if (!byId.has(dep)) {
        throw new InvalidArgumentError(`Flow "${flowId}": node "${node.id}" depends on "${dep}", which is not in the flow's nodes; add it.`);
      }
    }
    if (node.branch !== undefined && !node.dependsOn.some((dep) => byId.get(dep)!.isBranching)) {
      throw new InvalidArgumentError(
        `Flow "${flowId}": node "${node.id}" has branch "${node.branch}" but depends on no Choice; add the Choice to its dependsOn.`,
      );
    }
  }
}

function checkAcyclic(flowId: string, nodes: readonly Node[]): void {
  // Kahn's algorithm: whatever cannot be ordered lies on (or behind) a cycle.
  const remaining = new Map(nodes.map((node) => [node.id, new Set(node.dependsOn)]));
  let progressed = true;
  while (progressed) {
    progressed = false;
    for (const [id, deps] of remaining) {
      if (deps.size > 0) continue;
      remaining.delete(id);
      for (const other of remaining.values()) other.delete(id);
      progressed = true;
    }
  }
  if (remaining.size > 0) {
    throw new InvalidArgumentError(`Flow "${flowId}" has a dependency cycle through: ${[...remaining.keys()].join(', ')}.`);
  }
}
