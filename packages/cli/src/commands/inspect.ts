import type { CheckpointSummary, FlowCheckpoint, SavepointError } from '@savepoint/core';
import { changedNodeIds, diffCheckpoints } from '../checkpoint-diff.js';
import { brief, isoTime, table, toPlain } from '../output.js';
import { listRuns, requireHead, type RunFilter } from '../run-listing.js';
import type { CommandContext } from './context.js';

function runRow(head: CheckpointSummary) {
  return {
    runId: head.runId,
    flowId: head.flowId,
    workflowId: head.workflowId ?? null,
    status: head.status,
    tenantId: head.tenantId ?? null,
    checkpointId: head.id,
    seq: head.seq,
    pendingInputs: head.pendingInputs.map((p) => p.nodePath),
    updatedAt: head.updatedAt,
  };
}

export async function runsList(ctx: CommandContext, filter: RunFilter): Promise<void> {
  const conn = await ctx.connection();
  const corrupt = (error: SavepointError) => ctx.output.warn(`${error.message} (run "savepoint verify" for details)`);
  const runs = (await listRuns(conn, filter, corrupt)).map(runRow);
  ctx.output.result({ runs }, () =>
    runs.length === 0
      ? ['No runs.']
      : table(
          ['RUN', 'FLOW', 'STATUS', 'SEQ', 'UPDATED', 'WAITING FOR'],
          runs.map((r) => [r.runId, r.flowId, r.status, r.seq, isoTime(r.updatedAt), r.pendingInputs.join(', ')]),
        ),
  );
}

function pendingView(cp: FlowCheckpoint) {
  return cp.pendingInputs.map((p) => ({
    nodePath: p.nodePath,
    requestId: p.requestId ?? null,
    prompt: p.prompt,
    schema: p.schema,
    requestedAt: p.requestedAt,
    expiresAt: p.expiresAt ?? null,
  }));
}

function nodeViews(cp: FlowCheckpoint) {
  return Object.values(cp.nodeStates).map((n) => ({
    nodeId: n.nodeId,
    nodeType: n.nodeType,
    status: n.status,
    attempt: n.attempt ?? null,
    startedAt: n.startedAt ?? null,
    completedAt: n.completedAt ?? null,
    error: n.error ?? null,
    output: n.output,
  }));
}

export async function runsShow(ctx: CommandContext, runId: string): Promise<void> {
  const conn = await ctx.connection();
  const head = await conn.store.load(await requireHead(conn, runId));
  const view = {
    runId: head.runId,
    flowId: head.flowId,
    workflowId: head.workflowId ?? null,
    tenantId: head.tenantId ?? null,
    status: head.status,
    checkpointId: head.id,
    seq: head.seq,
    createdAt: head.createdAt,
    updatedAt: head.updatedAt,
    pendingInputs: pendingView(head),
    nodes: nodeViews(head),
  };
  ctx.output.result(view, () => [
    `Run        ${view.runId}`,
    `Flow       ${view.flowId}${view.workflowId && view.workflowId !== view.flowId ? ` (workflow ${view.workflowId})` : ''}`,
    `Status     ${view.status}`,
    `Head       ${view.checkpointId} (seq ${view.seq}, ${isoTime(view.updatedAt)})`,
    ...(view.tenantId ? [`Tenant     ${view.tenantId}`] : []),
    '',
    ...(view.pendingInputs.length === 0
      ? []
      : [
          'Waiting for input:',
          ...view.pendingInputs.flatMap((p) => [
            `  ${p.nodePath}: ${p.prompt}`,
            `    request ${p.requestId ?? '-'} since ${isoTime(p.requestedAt)}`,
            `    schema  ${JSON.stringify(p.schema)}`,
          ]),
          '',
        ]),
    ...table(
      ['NODE', 'TYPE', 'STATUS', 'ATTEMPT', 'COMPLETED', 'OUTPUT / ERROR'],
      view.nodes.map((n) => [n.nodeId, n.nodeType, n.status, n.attempt, isoTime(n.completedAt ?? undefined), n.error ? `${n.error.name}: ${n.error.message}` : brief(n.output)]),
    ),
  ]);
}

/** All of a run's checkpoint summaries, oldest first (the store lists newest first, a page at a time). */
async function runTimeline(ctx: CommandContext, runId: string, limit: number | undefined): Promise<CheckpointSummary[]> {
  const conn = await ctx.connection();
  await requireHead(conn, runId);
  const summaries: CheckpointSummary[] = [];
  let beforeSeq: number | undefined;
  while (limit === undefined || summaries.length < limit) {
    const page = await conn.store.listByRun(runId, { limit: Math.min(200, limit === undefined ? 200 : limit - summaries.length), ...(beforeSeq === undefined ? {} : { beforeSeq }) });
    summaries.push(...page);
    if (page.length === 0) break;
    beforeSeq = page[page.length - 1]!.seq;
  }
  return summaries.reverse();
}

export async function checkpointsTimeline(ctx: CommandContext, runId: string, limit: number | undefined): Promise<void> {
  const conn = await ctx.connection();
  const summaries = await runTimeline(ctx, runId, limit);
  const rows: Array<{ seq: number; id: string; status: string; createdAt: Date; parentCheckpointId: string | null; changedNodes: string[]; pendingInputs: string[] }> = [];
  // The first shown checkpoint is compared with its parent, so "changed" means the same on every row.
  let previous: FlowCheckpoint | undefined;
  const firstParent = summaries[0]?.parentCheckpointId;
  if (firstParent) previous = await conn.store.load(firstParent).catch(() => undefined);
  for (const [i, summary] of summaries.entries()) {
    ctx.output.progress(`loading checkpoint ${i + 1}/${summaries.length}`);
    const cp = await conn.store.load(summary.id);
    rows.push({
      seq: cp.seq,
      id: cp.id,
      status: cp.status,
      createdAt: cp.createdAt,
      parentCheckpointId: cp.parentCheckpointId,
      changedNodes: changedNodeIds(previous, cp),
      pendingInputs: cp.pendingInputs.map((p) => p.nodePath),
    });
    previous = cp;
  }
  ctx.output.result({ runId, checkpoints: rows }, () =>
    table(
      ['SEQ', 'CHECKPOINT', 'STATUS', 'TIME', 'CHANGED NODES'],
      rows.map((r) => [r.seq, r.id, r.status, isoTime(r.createdAt), r.changedNodes.join(', ')]),
    ),
  );
}

export async function checkpointShow(ctx: CommandContext, id: string): Promise<void> {
  const conn = await ctx.connection();
  const cp = await conn.store.load(id);
  ctx.output.result(cp, () => [
    `Checkpoint ${cp.id} (seq ${cp.seq}) of run ${cp.runId}, flow ${cp.flowId}`,
    `Status     ${cp.status}`,
    `Parent     ${cp.parentCheckpointId ?? '-'}`,
    `Created    ${isoTime(cp.createdAt)}`,
    `Completed  ${cp.completedNodeIds.join(', ') || '-'}`,
    `Pending    ${cp.pendingNodeIds.join(', ') || '-'}`,
    ...(cp.pendingInputs.length > 0 ? [`Waiting    ${cp.pendingInputs.map((p) => `${p.nodePath} (${p.prompt})`).join('; ')}`] : []),
    '',
    'Input:',
    ...indent(cp.originalInput),
    '',
    ...Object.values(cp.nodeStates).flatMap((n) => [`Node ${n.nodeId} [${n.nodeType}] ${n.status}${n.attempt ? `, attempt ${n.attempt}` : ''}`, ...indent(nodeDetail(n))]),
  ]);
}

function nodeDetail(n: FlowCheckpoint['nodeStates'][string]): unknown {
  const { nodeId: _id, nodeType: _type, status: _status, attempt: _attempt, ...rest } = n;
  return rest;
}

function indent(value: unknown): string[] {
  return (JSON.stringify(toPlain(value), null, 2) ?? 'undefined').split('\n').map((line) => `  ${line}`);
}

export async function diff(ctx: CommandContext, idA: string, idB: string): Promise<void> {
  const conn = await ctx.connection();
  const [a, b] = [await conn.store.load(idA), await conn.store.load(idB)];
  const d = diffCheckpoints(a, b);
  ctx.output.result(d, () => {
    const lines = [`${d.from.id} (seq ${d.from.seq}) -> ${d.to.id} (seq ${d.to.seq})`];
    if (d.from.runId !== d.to.runId) lines.push(`runs: ${d.from.runId} -> ${d.to.runId}`);
    lines.push(d.status ? `status: ${d.status.from} -> ${d.status.to}` : `status: ${d.to.status} (unchanged)`);
    for (const n of d.nodes.added) lines.push(`+ ${n.nodeId} (${n.status})`);
    for (const n of d.nodes.removed) lines.push(`- ${n.nodeId} (${n.status})`);
    for (const n of d.nodes.changed) {
      lines.push(`~ ${n.nodeId}: ${n.status.from === n.status.to ? n.status.to : `${n.status.from} -> ${n.status.to}`} (${n.fields.join(', ')})`);
      if (n.output) lines.push(`    output: ${brief(n.output.from) || '(none)'} -> ${brief(n.output.to) || '(none)'}`);
      if (n.error) lines.push(`    error:  ${brief(n.error.from) || '(none)'} -> ${brief(n.error.to) || '(none)'}`);
    }
    for (const p of d.pendingInputs.added) lines.push(`+ waiting for input at ${p.nodePath}: ${p.prompt}`);
    for (const p of d.pendingInputs.removed) lines.push(`- no longer waiting at ${p.nodePath}`);
    if (d.nodes.added.length + d.nodes.removed.length + d.nodes.changed.length === 0) lines.push('no node changed');
    return lines;
  });
}
