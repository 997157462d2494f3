import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { CheckpointWriteError, Flow, HumanInput, MemoryAdapter, Workflow, type HumanInputChannel, type WorkflowEvent } from '../../src/index.js';
import { instrument } from '../support/suite-harness.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function askingWorkflow(checkpoint?: ConstructorParameters<typeof Workflow>[0]['checkpoint']) {
  const approve = new HumanInput({ id: 'approve', prompt: 'ok?', schema: z.boolean() });
  const workflow = new Workflow({ flow: new Flow({ id: 'ask', nodes: [approve] }), ...(checkpoint ? { checkpoint } : {}) });
  const events: WorkflowEvent[] = [];
  workflow.on('*', (e) => events.push(e));
  const ofType = (type: string) => events.filter((e) => e.type === type).map((e) => e.data as Record<string, unknown>);
  return { workflow, ofType };
}

const refusingStore = () => instrument(new MemoryAdapter(), { putHeader: async () => Promise.reject(new Error('disk full')) }).adapter;

describe('human questions without a stored checkpoint', () => {
  it('with checkpointing off a question still has a requestId, and its events carry it (no checkpointId)', async () => {
    const { workflow, ofType } = askingWorkflow();
    const channel: HumanInputChannel = { request: async () => ({ answered: true, value: true }) };
    expect(await workflow.run(null, { inputChannel: channel })).toMatchObject({ status: 'success', output: true });
    const [requested] = ofType('approval_requested');
    expect(requested).toMatchObject({ nodePath: 'approve', requestId: expect.stringMatching(UUID_V7), isResumed: false });
    expect(requested).not.toHaveProperty('checkpointId');
    expect(ofType('approval_received')).toEqual([{ nodePath: 'approve', requestId: requested!['requestId'], value: true }]);
  });

  it('a question that cannot be stored is not announced when the run must stop (onCheckpointError fail)', async () => {
    const { workflow, ofType } = askingWorkflow({ enabled: true, backend: refusingStore(), onCheckpointError: 'fail' });
    const result = await workflow.run(null);
    expect(result.status).toBe('failure');
    expect(CheckpointWriteError.isInstance(result.error)).toBe(true);
    expect(ofType('approval_requested')).toEqual([]);
  });

  it('with onCheckpointError continue the question is announced without a checkpointId and the run pauses with a warning', async () => {
    const { workflow, ofType } = askingWorkflow({ enabled: true, backend: refusingStore() });
    const result = await workflow.run(null);
    expect(result.status).toBe('pending_input');
    expect(result.warnings[0]).toMatchObject({ code: 'CHECKPOINT_WRITE_FAILED' });
    const [requested] = ofType('approval_requested');
    expect(requested).toMatchObject({ requestId: expect.stringMatching(UUID_V7) });
    expect(requested).not.toHaveProperty('checkpointId');
  });
});
