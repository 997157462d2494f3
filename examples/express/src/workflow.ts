import { Flow, FunctionNode, HumanInput, Workflow, type StorageAdapter } from '@savepoint/core';
import { z } from 'zod';

export interface Expense {
  employee: string;
  amountCents: number;
  reason: string;
}

/** An expense report: checked, approved by a manager (a human, possibly days later), then booked. */
export function expenseWorkflow(backend: StorageAdapter) {
  const check = new FunctionNode({
    id: 'check',
    run: (expense: Expense) => ({ ...expense, amount: `${(expense.amountCents / 100).toFixed(2)} EUR` }),
  });
  const approve = new HumanInput({
    id: 'approve',
    dependsOn: [check],
    prompt: ({ employee, amount, reason }) => `Approve ${amount} for ${employee} (${reason})?`,
    schema: z.object({ approved: z.boolean(), note: z.string().max(500).optional() }),
  });
  const book = new FunctionNode({
    id: 'book',
    dependsOn: [check, approve],
    run: ({ check, approve }) => (approve.approved ? `booked ${check.amount} for ${check.employee}` : `rejected: ${approve.note ?? 'no reason given'}`),
  });
  return new Workflow({
    id: 'expense',
    flow: new Flow({ id: 'expense', nodes: [check, approve, book] }),
    inputSchema: z.object({ employee: z.string().min(1), amountCents: z.number().int().positive(), reason: z.string().min(1) }),
    checkpoint: { enabled: true, backend },
  });
}
