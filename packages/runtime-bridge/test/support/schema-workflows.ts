// Workflows with schemas at their edges (issue #11): a run input with a default, questions in a map, outputs checked.
import { Flow, FunctionNode, HumanInput, MapNode, Workflow, type StorageAdapter } from '@savepoint/core';
import { z } from 'zod';

export const RESEARCH_INPUT = z.object({ topic: z.string().min(1), depth: z.number().int().min(1).default(2) });

/** `research`: the input's `depth` defaults to 2; `seen` records what the flow's first node received. */
export function researchWorkflow(backend: StorageAdapter) {
  const seen: unknown[] = [];
  const plan = new FunctionNode({
    id: 'plan',
    run: (input: z.output<typeof RESEARCH_INPUT>) => {
      seen.push(input);
      return `${input.topic} at depth ${input.depth}`;
    },
  });
  const approve = new HumanInput({ id: 'approve', dependsOn: [plan], prompt: (text) => `Publish "${text}"?`, schema: z.object({ ok: z.boolean() }) });
  const publish = new FunctionNode({ id: 'publish', dependsOn: [plan, approve], run: (deps) => (deps.approve.ok ? `published: ${deps.plan}` : 'dropped') });
  const workflow = new Workflow({
    flow: new Flow({ id: 'research', nodes: [plan, approve, publish] }),
    inputSchema: RESEARCH_INPUT,
    outputSchema: z.string(),
    checkpoint: { enabled: true, backend },
  });
  return { workflow, seen };
}

/**
 * `review`: questions asked per item of a map, one of them with a schema JSON Schema cannot express (`z.custom`),
 * and an outputSchema with a transform (its output side cannot be expressed either).
 */
export function reviewWorkflow(backend: StorageAdapter) {
  const check = new HumanInput({ id: 'check', prompt: 'OK?', schema: z.enum(['yes', 'no']) });
  const sign = new HumanInput({ id: 'sign', dependsOn: [check], prompt: 'Sign', schema: z.custom<string>((value) => typeof value === 'string' && value.startsWith('sig:')) });
  const each = new MapNode({ id: 'each', inner: new Flow({ id: 'per-item', nodes: [check, sign] }), items: (items: string[]) => items });
  return new Workflow({
    id: 'review-items',
    flow: new Flow({ id: 'review', nodes: [each] }),
    outputSchema: z.array(z.string()).transform((signatures) => signatures.map((signature) => signature.slice(4))),
    checkpoint: { enabled: true, backend },
  });
}

/** `plain`: no schemas at all. */
export function plainWorkflow(backend: StorageAdapter) {
  return new Workflow({ flow: new Flow({ id: 'plain', nodes: [new FunctionNode({ id: 'echo', run: (input: unknown) => input })] }), checkpoint: { enabled: true, backend } });
}
