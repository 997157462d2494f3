import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { z as zodV3OfZod4 } from 'zod/v3';
import * as zod3Module from 'zod3';
import { z as zod3 } from 'zod3';
import * as zod4Module from 'zod';
import {
  Flow,
  FunctionNode,
  HumanInput,
  InvalidArgumentError,
  MemoryAdapter,
  Node,
  NodeFailedError,
  tool,
  Workflow,
  type NodeContext,
} from '../../src/index.js';
import { SUPPORTED_ZOD_RANGE, assertZod4 } from '../../src/util/zod-schema.js';

const corePackage = JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')) as { peerDependencies: { zod: string } };
// Read from zod's own package.json, not through the code under test.
const installedZod = (JSON.parse(readFileSync(require.resolve('zod/package.json'), 'utf8')) as { version: string }).version;

function thrown(create: () => unknown): InvalidArgumentError {
  try {
    create();
  } catch (error) {
    if (InvalidArgumentError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected an InvalidArgumentError, nothing was thrown');
}

describe('schemas core cannot read are refused where they enter', () => {
  it('states the same supported range as the package peer dependency', () => {
    expect(SUPPORTED_ZOD_RANGE).toBe(corePackage.peerDependencies.zod);
  });

  it('refuses a zod 3 HumanInput schema, naming the installed zod and the supported range', () => {
    const error = thrown(() => new HumanInput({ id: 'approve', prompt: 'Ship it?', schema: zod3.object({ ok: zod3.boolean() }) as never }));
    expect(error.message).toBe(
      `HumanInput "approve" schema is a zod 3 schema, but @savepoint/core reads zod ${SUPPORTED_ZOD_RANGE} schemas only ` +
        `(@savepoint/core runs with zod ${installedZod}): create it with zod ${SUPPORTED_ZOD_RANGE} ` +
        `(npm install zod@${SUPPORTED_ZOD_RANGE}; import { z } from 'zod', not 'zod/v3').`,
    );
  });

  it("refuses a schema from zod 4's zod/v3 entry point the same way", () => {
    const error = thrown(() => new HumanInput({ id: 'approve', prompt: 'Ship it?', schema: zodV3OfZod4.object({ ok: zodV3OfZod4.boolean() }) as never }));
    expect(error.message).toMatch(/^HumanInput "approve" schema is a zod 3 schema/);
  });

  it('refuses a zod 3 argsSchema of a node and a zod 3 tool schema', () => {
    const args = zod3.object({ query: zod3.string() }) as never;
    expect(thrown(() => new FunctionNode({ id: 'search', argsSchema: args, run: () => 'found' })).message).toMatch(/^Node "search" argsSchema is a zod 3 schema/);
    expect(thrown(() => tool({ name: 'lookup', description: 'Looks up', schema: args, run: () => 'found' })).message).toMatch(/^tool "lookup" schema is a zod 3 schema/);
  });

  it('refuses a value that is no zod schema at all', () => {
    const jsonSchema = { type: 'object', properties: { ok: { type: 'boolean' } } } as never;
    expect(thrown(() => new HumanInput({ id: 'approve', prompt: 'Ship it?', schema: jsonSchema })).message).toMatch(
      new RegExp(`^HumanInput "approve" schema must be a zod \\^4\\.1\\.0 schema, got object \\(@savepoint/core runs with zod ${installedZod.replace(/\./g, '\\.')}\\)`),
    );
    expect(thrown(() => new HumanInput({ id: 'approve', prompt: 'Ship it?', schema: undefined as never })).message).toMatch(/schema must be a zod .* got undefined/);
  });

  it('fails the node, not the process, when a custom node asks with a zod 3 schema through ctx.requestInput', async () => {
    class Confirm extends Node<null, unknown> {
      readonly nodeType = 'confirm';
      execute(_input: null, ctx: NodeContext) {
        return ctx.requestInput({ nodePath: ctx.nodePath, prompt: 'Sure?', schema: zod3.boolean() as never });
      }
    }
    const workflow = new Workflow({ flow: new Flow({ id: 'confirm', nodes: [new Confirm({ id: 'confirm' })] }), checkpoint: { enabled: true, backend: new MemoryAdapter() } });
    const result = await workflow.run(null);
    expect(result.status).toBe('failure');
    expect(NodeFailedError.isInstance(result.error)).toBe(true);
    const cause = (result.error as NodeFailedError).cause;
    expect(InvalidArgumentError.isInstance(cause)).toBe(true);
    expect((cause as Error).message).toMatch(/^ctx\.requestInput schema at "confirm" is a zod 3 schema/);
  });

  it('accepts zod 4 schemas', async () => {
    const approve = new HumanInput({ id: 'approve', prompt: 'Ship it?', schema: z.object({ ok: z.boolean() }) });
    const search = tool({ name: 'lookup', description: 'Looks up', schema: z.object({ query: z.string() }), run: ({ query }) => query });
    const workflow = new Workflow({ flow: new Flow({ id: 'ship', nodes: [approve] }), checkpoint: { enabled: true, backend: new MemoryAdapter() } });
    const first = await workflow.run(null);
    expect(first.status).toBe('pending_input');
    expect((await workflow.resume({ runId: first.runId, input: { approve: { ok: true } } })).output).toEqual({ ok: true });
    expect(search.argsSchema).toBeDefined();
  });

  it('refuses, as core loads, a zod that is not zod 4 (a forced install), naming the range to install', () => {
    expect(() => assertZod4(zod3Module as never)).toThrow(InvalidArgumentError);
    expect(() => assertZod4(zod3Module as never)).toThrow(`@savepoint/core needs zod ${SUPPORTED_ZOD_RANGE}, but the zod it loads is zod 3 or older: npm install zod@${SUPPORTED_ZOD_RANGE}`);
    expect(() => assertZod4(zod4Module)).not.toThrow();
  });
});

