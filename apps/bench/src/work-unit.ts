// The work each node of the engine-overhead scenario does, stated so the overhead percentage has a known
// denominator: ROUND_TRIPS JSON.stringify + JSON.parse round trips of a ~4.3 KB document, about 1 ms of CPU on
// the development machine (each run prints what it cost there). Like a node that reshapes an API response.
export const ROUND_TRIPS = 16;

const DOCUMENT = Object.freeze({
  items: Array.from({ length: 40 }, (_, i) => ({ id: i, name: `item ${i}`, tags: ['a', 'b', 'c'], score: i * 1.5, note: 'x'.repeat(40) })),
});

const DOCUMENT_BYTES = JSON.stringify(DOCUMENT).length;

/** One node's work: the round trips, then a small output naming the node. */
export function workUnit(nodeId: string): { node: string; items: number } {
  let doc: { items: unknown[] } = DOCUMENT;
  for (let i = 0; i < ROUND_TRIPS; i++) doc = JSON.parse(JSON.stringify(doc)) as { items: unknown[] };
  return { node: nodeId, items: doc.items.length };
}

/** Description printed with the overhead figure. */
export const WORK_UNIT = `${ROUND_TRIPS} JSON.stringify + JSON.parse round trips of a ${(DOCUMENT_BYTES / 1024).toFixed(1)} KB document`;
