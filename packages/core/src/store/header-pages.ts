import type { HeaderQuery, HeaderRecord, StorageAdapter } from './storage-adapter.js';

/** Headers asked of the adapter per query when walking a whole flow or run, so no query is unbounded. */
export const PAGE = 500;

/**
 * The headers matching `filter`, newest first, one page (at most `PAGE`) per adapter query: a run's pages follow
 * `seq`, other listings follow `id`. The cursor is the last header seen, so deleting headers between pages is safe.
 */
export async function* headerPages(adapter: StorageAdapter, filter: Omit<HeaderQuery, 'order' | 'limit' | 'beforeId' | 'beforeSeq'>): AsyncGenerator<HeaderRecord[]> {
  let last: HeaderRecord | undefined;
  for (;;) {
    const query: HeaderQuery = { ...filter, order: 'desc', limit: PAGE };
    if (last !== undefined) {
      if (filter.runId !== undefined) query.beforeSeq = last.seq;
      else query.beforeId = last.id;
    }
    const page = await adapter.queryHeaders(query);
    if (page.length > 0) yield page;
    if (page.length < PAGE) return;
    last = page[page.length - 1]!;
  }
}

/** Every header of a flow or of a run, newest first. */
export async function allHeaders(adapter: StorageAdapter, filter: { flowId?: string; runId?: string }): Promise<HeaderRecord[]> {
  const out: HeaderRecord[] = [];
  for await (const page of headerPages(adapter, filter)) out.push(...page);
  return out;
}
