import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Workflow } from '@savepoint/core';
import { usageError } from './errors.js';

const isWorkflow = (value: unknown): value is Workflow =>
  typeof value === 'object' && value !== null && typeof (value as Workflow).resume === 'function' && typeof (value as Workflow).run === 'function' && 'flow' in value;

/**
 * The workflows a user's module exports: named exports that are Workflows, and the entries of an exported
 * `workflows` record (the shape `createRuntime({ workflows })` takes), by name.
 */
export function exportedWorkflows(loaded: Record<string, unknown>): Map<string, Workflow> {
  const found = new Map<string, Workflow>();
  const scan = (source: Record<string, unknown> | undefined) => {
    if (!source) return;
    for (const [name, value] of Object.entries(source)) if (isWorkflow(value)) found.set(name, value);
    const record = source.workflows;
    if (typeof record === 'object' && record !== null) for (const [name, value] of Object.entries(record)) if (isWorkflow(value)) found.set(name, value);
  };
  scan(loaded);
  // A CommonJS module imported from ESM shows its exports under `default` too.
  if (typeof loaded.default === 'object' && loaded.default !== null) scan(loaded.default as Record<string, unknown>);
  found.delete('default');
  return found;
}

/** Imports `--module` (resolved from the working directory) and picks `--workflow` (optional when it exports one). */
export async function loadWorkflow(modulePath: string, name: string | undefined, cwd: string): Promise<Workflow> {
  const absolute = isAbsolute(modulePath) ? modulePath : resolve(cwd, modulePath);
  // A file URL is what import() needs on Windows; a POSIX path also works where import() is compiled to require().
  const specifier = process.platform === 'win32' ? pathToFileURL(absolute).href : absolute;
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(specifier)) as Record<string, unknown>;
  } catch (error) {
    throw usageError(`--module ${modulePath} could not be imported: ${(error as Error).message}`);
  }
  const workflows = exportedWorkflows(loaded);
  const names = [...workflows.keys()];
  if (name === undefined) {
    if (workflows.size === 1) return workflows.values().next().value!;
    throw usageError(`--module ${modulePath} exports ${names.length === 0 ? 'no Workflow' : `several workflows (${names.join(', ')})`}: name one with --workflow.`);
  }
  const workflow = workflows.get(name);
  if (!workflow) throw usageError(`--module ${modulePath} exports no workflow "${name}" (found: ${names.join(', ') || 'none'}).`);
  return workflow;
}
