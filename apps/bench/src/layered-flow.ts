// The flows of the engine scenarios: layers of independent nodes, each node depending on every node of the
// layer before (so a layer runs in parallel and waits for the whole previous one), optionally fanned out from
// one source node and into one sink node. The same shape builds a `Flow` and drives the plain loop it is
// compared with.
import { Flow, FunctionNode, type NodeContext } from '@savepoint/core';

export interface LayeredShape {
  /** Layers of `width` parallel nodes. */
  layers: number;
  width: number;
  /** One node before the first layer / after the last one. */
  source: boolean;
  sink: boolean;
}

/** Node ids and dependencies, layer by layer (the source and the sink are layers of one). */
export type ShapeLayers = ReadonlyArray<ReadonlyArray<{ id: string; dependsOn: readonly string[] }>>;

export type NodeFunction = (input: unknown, ctx?: NodeContext) => unknown;

/** What each node runs, by id: built once, so the engine and the plain loop call the very same functions. */
export type NodeFunctions = ReadonlyMap<string, NodeFunction>;

export function nodeFunctions(shape: LayeredShape, make: (id: string) => NodeFunction): NodeFunctions {
  return new Map(shapeLayers(shape).flatMap((layer) => layer.map(({ id }) => [id, make(id)] as const)));
}

export function shapeLayers(shape: LayeredShape): ShapeLayers {
  const ids: string[][] = [];
  if (shape.source) ids.push(['source']);
  for (let l = 1; l <= shape.layers; l++) ids.push(Array.from({ length: shape.width }, (_, i) => `l${l}-n${i + 1}`));
  if (shape.sink) ids.push(['sink']);
  return ids.map((layer, l) => layer.map((id) => ({ id, dependsOn: l === 0 ? [] : ids[l - 1]! })));
}

export function nodeCount(shape: LayeredShape): number {
  return shape.layers * shape.width + (shape.source ? 1 : 0) + (shape.sink ? 1 : 0);
}

/** E.g. "1 source, 6 layers of 8, 1 sink: 50 nodes, each depending on every node of the layer before". */
export function describeShape(shape: LayeredShape): string {
  const layers = `${shape.layers} layer${shape.layers === 1 ? '' : 's'} of ${shape.width}`;
  const parts = [shape.source ? '1 source' : '', layers, shape.sink ? '1 sink' : ''].filter(Boolean);
  return `${parts.join(', ')}: ${nodeCount(shape)} nodes, each depending on every node of the layer before`;
}

/** The shape as a flow whose concurrency is the layer width. */
export function layeredFlow(flowId: string, shape: LayeredShape, fns: NodeFunctions): Flow {
  const nodes = shapeLayers(shape).flatMap((layer) => layer.map(({ id, dependsOn }) => new FunctionNode({ id, dependsOn, run: fns.get(id)! })));
  return new Flow({ id: flowId, nodes, concurrency: shape.width });
}

/**
 * The same node functions without an engine: each layer's nodes started together and awaited together, each
 * given its input as the engine gives it (the run's input without dependencies, the one dependency's output,
 * or `{ [depId]: output }`).
 */
export async function plainLoop(layers: ShapeLayers, fns: NodeFunctions, input: unknown): Promise<Map<string, unknown>> {
  const outputs = new Map<string, unknown>();
  const inputOf = (dependsOn: readonly string[]) => {
    if (dependsOn.length === 0) return input;
    if (dependsOn.length === 1) return outputs.get(dependsOn[0]!);
    return Object.fromEntries(dependsOn.map((d) => [d, outputs.get(d)]));
  };
  for (const layer of layers) {
    await Promise.all(
      layer.map(async ({ id, dependsOn }) => {
        outputs.set(id, await fns.get(id)!(inputOf(dependsOn)));
      }),
    );
  }
  return outputs;
}
