/**
 * Whether `nodePath` (e.g. `approve`, `write/tool:approve`, `map-1[3]/approve`) is at or below the
 * top-level node `nodeId`. Node ids cannot contain `/` or `[` (they are safe ids), so the first
 * separator ends the id unambiguously.
 */
export function pathBelongsTo(nodePath: string, nodeId: string): boolean {
  if (!nodePath.startsWith(nodeId)) return false;
  const next = nodePath.charAt(nodeId.length);
  return next === '' || next === '/' || next === '[';
}
