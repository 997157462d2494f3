// What each paid step cost, across processes: a worker reports its spending to the parent over IPC,
// so the walkthrough can show that a resume never pays twice for finished work.
const entries: Array<{ step: string; cents: number; pid: number }> = [];

export function spend(step: string, cents: number): void {
  const entry = { step, cents, pid: process.pid };
  entries.push(entry);
  process.send?.({ type: 'spend', ...entry });
}

export function record(entry: { step: string; cents: number; pid: number }): void {
  entries.push(entry);
}

export function spent(): ReadonlyArray<{ step: string; cents: number; pid: number }> {
  return entries;
}

export function totalCents(): number {
  return entries.reduce((sum, e) => sum + e.cents, 0);
}
