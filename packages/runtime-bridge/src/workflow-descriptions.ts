import { z } from 'zod';
import type { CatalogEntry, WorkflowCatalog } from './workflow-catalog.js';

/** A JSON Schema document (draft 2020-12), as `z.toJSONSchema` makes it. */
export type JsonSchema = Record<string, unknown>;

/** What `GET /workflows` tells of one workflow. */
export interface WorkflowDescription {
  /** Its name in `createRuntime({ workflows })`: what `POST /runs` takes as `workflow`. */
  name: string;
  workflowId: string;
  flowId: string;
  /** What `POST /runs` takes as `input` (the schema's input side: fields with a default are optional); null: anything. */
  inputSchema: JsonSchema | null;
  /** What a completed run's `output` is; null: the workflow declares no outputSchema. */
  outputSchema: JsonSchema | null;
  /** Every question the workflow may ask (`[*]`: any map index), with the JSON Schema of its answer. */
  questions: Array<{ nodePath: string; schema: JsonSchema | null }>;
  /** Where a schema says less than the zod schema checks (a transform's output, `z.custom`, a Date...), and why. */
  notes: string[];
}

/**
 * The JSON Schemas of the runtime's workflows, computed once per runtime (schemas do not change) and listed by
 * name. A zod schema with parts JSON Schema cannot express does not fail the listing: those parts become `{}` (any
 * value, as in the schema `approval_requested` carries) and a note says which schema is incomplete and why.
 */
export class WorkflowDescriptions {
  private described: WorkflowDescription[] | undefined;

  constructor(private readonly catalog: WorkflowCatalog) {}

  list(): WorkflowDescription[] {
    this.described ??= this.catalog
      .all()
      .map(describe)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return this.described;
  }
}

function describe({ name, workflow }: CatalogEntry): WorkflowDescription {
  const notes: string[] = [];
  const convert = (schema: z.ZodType | undefined, io: 'input' | 'output', what: string) =>
    schema === undefined ? null : toJsonSchema(schema, io, (reason) => notes.push(`${what}: ${reason}`));
  return {
    name,
    workflowId: workflow.id,
    flowId: workflow.flow.id,
    inputSchema: convert(workflow.inputSchema, 'input', 'inputSchema'),
    outputSchema: convert(workflow.outputSchema, 'output', 'outputSchema'),
    questions: workflow.flow.questions().map(({ nodePath, schema }) => ({ nodePath, schema: convert(schema, 'input', `question "${nodePath}"`) })),
    notes,
  };
}

/** Strict first, so an incomplete schema is noticed; then with the unrepresentable parts as `{}`; null if zod gives up. */
function toJsonSchema(schema: z.ZodType, io: 'input' | 'output', note: (reason: string) => void): JsonSchema | null {
  try {
    return z.toJSONSchema(schema, { io, unrepresentable: 'throw' }) as JsonSchema;
  } catch (strict) {
    try {
      const loose = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
      note(`${messageOf(strict)}; that part is {} (any value) in this JSON Schema, the zod schema still checks it`);
      return loose;
    } catch (error) {
      note(`no JSON Schema (${messageOf(error)}); the zod schema still checks it`);
      return null;
    }
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
