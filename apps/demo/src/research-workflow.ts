import { Flow, FunctionNode, HumanInput, Workflow, type StorageAdapter } from '@savepoint/core';
import { z } from 'zod';
import { spend } from './ledger.js';

/** Simulated paid work: each call costs money and time, which is what a resume must not repeat. */
async function paidStep<T>(name: string, cents: number, result: T): Promise<T> {
  await new Promise((resolve) => setTimeout(resolve, 250));
  spend(name, cents);
  return result;
}

export const approvalSchema = z.object({
  publish: z.boolean(),
  note: z.string().max(200).optional(),
});

/**
 * research → (outline, sources in parallel) → draft → approve (a human) → publish.
 * `crashAt` makes the process die inside that step, as a pod restart would.
 */
export function researchWorkflow(backend: StorageAdapter, crashAt?: string) {
  const maybeCrash = (step: string) => {
    if (crashAt === step) process.kill(process.pid, 'SIGKILL');
  };
  const research = new FunctionNode({
    id: 'research',
    run: ({ topic }: { topic: string }) => paidStep('research', 4, { topic, facts: [`${topic} grew 40% this year`, `${topic} costs fell by half`] }),
  });
  const outline = new FunctionNode({
    id: 'outline',
    dependsOn: [research],
    run: (r: { topic: string }) => paidStep('outline', 2, [`Why ${r.topic} matters`, 'What changed', 'What to do next']),
  });
  const sources = new FunctionNode({
    id: 'sources',
    dependsOn: [research],
    run: (r: { facts: string[] }) => paidStep('sources', 3, r.facts.map((fact, i) => ({ fact, url: `https://example.org/source/${i + 1}` }))),
  });
  const draft = new FunctionNode({
    id: 'draft',
    dependsOn: [outline, sources],
    run: async ({ outline: sections, sources: refs }: { outline: string[]; sources: Array<{ fact: string }> }) => {
      maybeCrash('draft');
      return paidStep('draft', 12, `${sections.join(' / ')} — citing ${refs.length} sources`);
    },
  });
  const approve = new HumanInput({ id: 'approve', dependsOn: [draft], prompt: 'Publish this draft?', schema: approvalSchema });
  const publish = new FunctionNode({
    id: 'publish',
    dependsOn: [approve],
    run: (answer: z.infer<typeof approvalSchema>) => (answer.publish ? 'published' : `kept as draft (${answer.note ?? 'no note'})`),
  });
  return new Workflow({
    id: 'research-report',
    flow: new Flow({ id: 'research-report', nodes: [research, outline, sources, draft, approve, publish] }),
    // A short lease so the walkthrough can take over the crashed worker's run after two seconds.
    checkpoint: { enabled: true, backend, leaseTtlMs: 2000, maxCheckpointsPerRun: 50 },
  });
}
