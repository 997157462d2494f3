import { InvalidArgumentError, type CheckpointStore, type StorageAdapter, type Workflow } from '@savepoint/core';

export interface CatalogEntry {
  /** The name clients use (`POST /runs { workflow }`). */
  name: string;
  workflow: Workflow;
  store: CheckpointStore;
}

/**
 * The workflows a runtime serves, by the name clients use and by the `workflowId` stored in
 * checkpoints (how a run found in storage is mapped back to the workflow that can resume it).
 */
export class WorkflowCatalog {
  private readonly byNameMap = new Map<string, CatalogEntry>();
  private readonly byIdMap = new Map<string, CatalogEntry>();

  constructor(workflows: Record<string, Workflow<any, any, any>>, backend: StorageAdapter) {
    for (const [name, workflow] of Object.entries(workflows)) {
      const store = workflow.store;
      if (!store) {
        throw new InvalidArgumentError(`createRuntime: workflow "${name}" has checkpointing off; pass checkpoint: { enabled: true, backend }.`);
      }
      if (store.adapter !== backend) {
        throw new InvalidArgumentError(`createRuntime: workflow "${name}" checkpoints to another backend; its checkpoint.backend must be the runtime's backend.`);
      }
      if (this.byIdMap.has(workflow.id)) {
        throw new InvalidArgumentError(
          `createRuntime: workflows "${this.byIdMap.get(workflow.id)!.name}" and "${name}" share the id "${workflow.id}"; give each Workflow its own id.`,
        );
      }
      const entry = { name, workflow, store };
      this.byNameMap.set(name, entry);
      this.byIdMap.set(workflow.id, entry);
    }
    if (this.byNameMap.size === 0) throw new InvalidArgumentError('createRuntime: pass at least one workflow in `workflows`.');
  }

  byName(name: string): CatalogEntry | undefined {
    return this.byNameMap.get(name);
  }

  byId(workflowId: string | null): CatalogEntry | undefined {
    return workflowId === null ? undefined : this.byIdMap.get(workflowId);
  }

  all(): CatalogEntry[] {
    return [...this.byNameMap.values()];
  }
}
