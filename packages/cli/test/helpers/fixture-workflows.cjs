// The workflows the CLI tests seed runs with, and the module `--module` imports (CommonJS, so both the spawned
// CLI and jest load it as is). `workflows` is built on first access against the backend that
// SAVEPOINT_FIXTURE_BACKEND ({ kind, options } as JSON) names.
const { Flow, FunctionNode, HumanInput, Workflow } = require('@savepoint/core');
const { z } = require('zod');

const BACKENDS = {
  sqlite: ['@savepoint/backend-sqlite', 'SqliteBackend'],
  file: ['@savepoint/backend-file', 'FileBackend'],
  postgres: ['@savepoint/backend-postgres', 'PostgresBackend'],
  redis: ['@savepoint/backend-redis', 'RedisBackend'],
};

function makeWorkflows(backend) {
  const checkpoint = { enabled: true, backend, logger: { debug() {}, info() {}, warn() {}, error() {} } };
  const draft = new FunctionNode({ id: 'draft', run: (input) => `draft about ${input.topic}` });
  const approve = new HumanInput({ id: 'approve', dependsOn: [draft], prompt: 'Publish this draft?', schema: z.object({ ok: z.boolean(), note: z.string().optional() }) });
  const publish = new FunctionNode({ id: 'publish', dependsOn: [approve], run: (answer) => (answer.ok ? 'published' : 'dropped') });
  const approval = new Workflow({ id: 'approval', flow: new Flow({ id: 'approval', nodes: [draft, approve, publish] }), checkpoint });

  const prepare = new FunctionNode({ id: 'prepare', run: () => ({ items: [1, 2, 3] }) });
  const explode = new FunctionNode({
    id: 'explode',
    dependsOn: [prepare],
    run: () => {
      throw new Error('the upstream API said no');
    },
  });
  const failing = new Workflow({ id: 'failing', flow: new Flow({ id: 'failing', nodes: [prepare, explode] }), checkpoint });
  return { approval, failing };
}

let built;
function workflowsFromEnv() {
  if (!built) {
    const { kind, options } = JSON.parse(process.env.SAVEPOINT_FIXTURE_BACKEND);
    const [pkg, name] = BACKENDS[kind];
    built = makeWorkflows(new (require(pkg)[name])(options));
  }
  return built;
}

module.exports = { makeWorkflows };
Object.defineProperty(module.exports, 'workflows', { enumerable: true, get: workflowsFromEnv });
