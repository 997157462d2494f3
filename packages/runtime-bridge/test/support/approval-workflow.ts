// The workflow every runtime test serves (in the test process and in spawned servers):
// draft -> approve (HumanInput) -> publish, plus an optional slow step that can hang to simulate a dead worker.
import { Flow, FunctionNode, HumanInput, Workflow, type CheckpointConfigInput, type StorageAdapter } from '@savepoint/core';
import { z } from 'zod';

export interface ApprovalOptions {
  backend: StorageAdapter;
  leaseTtlMs?: number;
  /**
   * Adds a `slow` step before `approve`; with `hang`, it never returns in this process (a worker that will be
   * killed); with `gate`, it waits for the promise `gate()` returns (the test decides when it may go on).
   */
  slow?: { hang: boolean; gate?: () => Promise<void> };
  /** Workflow id (so two catalogs can be told apart). */
  id?: string;
  /** More checkpoint settings (redact, encryption...). */
  checkpoint?: Omit<CheckpointConfigInput, 'enabled' | 'backend'>;
}

export interface Counters {
  draft: number;
  slow: number;
  publish: number;
}

export const APPROVAL_SCHEMA = z.object({ ok: z.boolean(), note: z.string().optional() });

export function approvalWorkflow(options: ApprovalOptions): { workflow: Workflow<{ topic: string }, string>; counters: Counters } {
  const counters: Counters = { draft: 0, slow: 0, publish: 0 };
  const draft = new FunctionNode({
    id: 'draft',
    run: ({ topic }: { topic: string }, ctx) => {
      counters.draft += 1;
      ctx.emit('stream_chunk', { text: `Draft about ${topic}` });
      return `Draft about ${topic}`;
    },
  });
  const slow = new FunctionNode({
    id: 'slow',
    dependsOn: ['draft'],
    run: async (text: string) => {
      counters.slow += 1;
      if (options.slow?.hang) await new Promise(() => undefined);
      await options.slow?.gate?.();
      return text;
    },
  });
  const approve = new HumanInput({
    id: 'approve',
    dependsOn: [options.slow ? 'slow' : 'draft'],
    prompt: (text: string) => `Publish "${text}"?`,
    schema: APPROVAL_SCHEMA,
  });
  const publish = new FunctionNode({
    id: 'publish',
    dependsOn: ['approve', 'draft'],
    run: ({ approve: answer, draft: text }: { approve: z.output<typeof APPROVAL_SCHEMA>; draft: string }) => {
      counters.publish += 1;
      return answer.ok ? `published: ${text}${answer.note ? ` (${answer.note})` : ''}` : 'rejected';
    },
  });
  const nodes = options.slow ? [draft, slow, approve, publish] : [draft, approve, publish];
  const workflow = new Workflow<{ topic: string }, string>({
    id: options.id ?? 'approval',
    flow: new Flow({ id: 'approval', nodes }),
    checkpoint: {
      ...options.checkpoint,
      enabled: true,
      backend: options.backend,
      ...(options.leaseTtlMs === undefined ? {} : { leaseTtlMs: options.leaseTtlMs }),
    },
  });
  return { workflow, counters };
}
