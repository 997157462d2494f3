import type { HeaderQuery, HeaderRecord, StorageAdapter } from './storage-adapter.js';

/** Headers asked of the adapter per query when walking a whole flow or run, so no query is unbounded. */
export const PAGE = 500;

/** Every header of a flow or of a run, newest first. */
export async function allHeaders(adapter: StorageAdapter, filter: { flowId?: string; runId?: string }): Promise<HeaderRecord[]> {
  const out: HeaderRecord[] = [];
  for (;;) {
    const query: HeaderQuery = { ...filter, order: 'desc', limit: PAGE };
    if (out.length > 0) {
      const last = out[out.length - 1]!;
      if (filter.runId !== undefined) query.beforeSeq = last.seq;
      else query.beforeId = last.id;
    }
    const page = await adapter.queryHeaders(query);
    out.push(...page);
    if (page.length < PAGE) return out;
  }
}

/** Every flow id that has at least one checkpoint. */
export async function allFlowIds(adapter: StorageAdapter): Promise<string[]> {
  const flows = new Set<string>();
  let beforeId: string | undefined;
  for (;;) {
    const page = await adapter.queryHeaders({ order: 'desc', limit: PAGE, ...(beforeId ? { beforeId } : {}) });
    for (const h of page) flows.add(h.flowId);
    if (page.length < PAGE) return [...flows];
    beforeId = page[page.length - 1]!.id;
  }
}
