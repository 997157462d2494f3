import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { Choice, Flow, FunctionNode, HumanInput, InvalidArgumentError } from '../../src/index.js';

const fn = (id: string, dependsOn: string[] = [], extra: { branch?: string } = {}) =>
  new FunctionNode({ id, dependsOn, run: () => id, ...extra });

describe('Flow', () => {
  it('accepts a DAG and finds its sinks', () => {
    const flow = new Flow({ id: 'ok', nodes: [fn('a'), fn('b', ['a']), fn('c', ['a']), fn('d', ['b'])] });
    expect(flow.sinks.map((n) => n.id)).toEqual(['c', 'd']);
    expect(flow.concurrency).toBe(4);
    expect(flow.node('b')?.dependsOn).toEqual(['a']);
    expect(flow.node('zzz')).toBeUndefined();
  });

  it('accepts dependencies given as nodes', () => {
    const a = fn('a');
    const b = new FunctionNode({ id: 'b', dependsOn: [a], run: () => 1 });
    expect(new Flow({ id: 'objs', nodes: [a, b] }).node('b')?.dependsOn).toEqual(['a']);
  });

  it.each([
    ['duplicate ids', () => new Flow({ id: 'f', nodes: [fn('a'), fn('a')] }), /two nodes have the id "a"/],
    ['unknown dependencies', () => new Flow({ id: 'f', nodes: [fn('a', ['ghost'])] }), /depends on "ghost"/],
    ['cycles', () => new Flow({ id: 'f', nodes: [fn('s'), fn('a', ['c', 's']), fn('b', ['a']), fn('c', ['b'])] }), /cycle through: a, b, c/],
    ['self-dependency', () => new Flow({ id: 'f', nodes: [fn('a', ['a'])] }), /cycle through: a/],
    ['a branch without a Choice', () => new Flow({ id: 'f', nodes: [fn('a'), fn('b', ['a'], { branch: 'x' })] }), /depends on no Choice/],
    ['no nodes', () => new Flow({ id: 'f', nodes: [] }), /has no nodes/],
    ['a bad concurrency', () => new Flow({ id: 'f', nodes: [fn('a')], concurrency: 0 }), /concurrency must be a positive integer/],
    ['an unsafe flow id', () => new Flow({ id: '../etc', nodes: [fn('a')] }), /Flow id/],
    ['an unsafe node id', () => fn('a/b'), /Node id/],
  ])('rejects %s with InvalidArgumentError', (_name, build, message) => {
    expect(build).toThrow(InvalidArgumentError);
    expect(build).toThrow(message);
  });

  it('finds the schema of an input awaited at a node path', () => {
    const schema = z.object({ ok: z.boolean() });
    const flow = new Flow({ id: 'f', nodes: [fn('approver'), new HumanInput({ id: 'approve', prompt: 'ok?', schema })] });
    expect(flow.inputSchemaFor('approve')).toBe(schema);
    expect(flow.inputSchemaFor('approve/deeper')).toBeUndefined();
    expect(flow.inputSchemaFor('approver')).toBeUndefined();
    expect(flow.inputSchemaFor('appro')).toBeUndefined();
  });

  it('knows which dependency selects a branch', () => {
    const choice = new Choice({ id: 'pick', choose: () => 'x' });
    const flow = new Flow({ id: 'f', nodes: [fn('data'), choice, fn('x', ['data', 'pick'], { branch: 'x' })] });
    expect(flow.branchSource(flow.node('x')!)).toBe(choice);
  });
});
