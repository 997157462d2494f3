// Workflows whose questions share a nodePath or are asked at once: what answer binding is about.
import { Agent, Flow, FunctionNode, HumanInput, ScriptedLLM, Workflow, type StorageAdapter } from '@savepoint/core';
import { z } from 'zod';

const YES_NO = z.object({ ok: z.boolean(), note: z.string().optional() });
type YesNo = z.output<typeof YES_NO>;

/**
 * An agent that asks "Publish the post?" and then "Also delete all old posts?" through the same tool, i.e. at
 * the same nodePath (`ask/tool:approve`): the case of an agent's next approval. The agent's tool results
 * are checkpointed, so a resume asks the next question, never the answered one again.
 */
export function twoQuestionsWorkflow(backend: StorageAdapter): Workflow<unknown, string> {
  const questions = ['Publish the post?', 'Also delete all old posts?'];
  const llm = new ScriptedLLM((request) => {
    const results = request.messages.filter((m) => m.role === 'tool').map((m) => m.content);
    return results.length < questions.length ? { toolCalls: [{ name: 'approve', arguments: { question: questions[results.length] } }] } : results.join(' | ');
  });
  const approve = new HumanInput({
    id: 'approve',
    argsSchema: z.object({ question: z.string() }),
    prompt: (args: { question: string }) => args.question,
    schema: YES_NO,
  });
  return new Workflow<unknown, string>({
    id: 'two-questions',
    flow: new Flow({ id: 'two-questions', nodes: [new Agent({ id: 'ask', llm, tools: [approve] })] }),
    checkpoint: { enabled: true, backend },
  });
}

/** Two independent approvals (`legal`, `editor`) asked at once, then `merge`. */
export function twoApprovalsWorkflow(backend: StorageAdapter): Workflow<unknown, string> {
  const legal = new HumanInput({ id: 'legal', prompt: 'Legal OK?', schema: YES_NO });
  const editor = new HumanInput({ id: 'editor', prompt: 'Editor OK?', schema: YES_NO });
  const merge = new FunctionNode({
    id: 'merge',
    dependsOn: ['legal', 'editor'],
    run: ({ legal: l, editor: e }: { legal: YesNo; editor: YesNo }) => `legal=${l.ok} editor=${e.ok}`,
  });
  return new Workflow<unknown, string>({
    id: 'two-approvals',
    flow: new Flow({ id: 'two-approvals', nodes: [legal, editor, merge] }),
    checkpoint: { enabled: true, backend },
  });
}
