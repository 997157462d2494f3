// The worker: executes the workflows. It serves no HTTP; its runtime claims the runs the web process hands over
// (and runs whose worker died), waits live for answers through the shared inbox, and appends every event to the
// shared log the web process streams from. Run as many as you like: a run's lease gives it to exactly one.
import { createRuntime } from '@savepoint/runtime-bridge';
import { backendFromEnv, contractWorkflow } from './workflows.js';

const backend = backendFromEnv();
const runtime = createRuntime({
  workflows: { contract: contractWorkflow(backend) },
  backend,
  hitlTimeoutMs: Number(process.env.SAVEPOINT_HITL_TIMEOUT_MS ?? 10 * 60_000), // then the run is parked as pending_input
  reaper: { intervalMs: 2_000 }, // the backstop; handed-over runs are claimed at once on their notification
});
await runtime.reap(); // sets the schema up and claims whatever waited while no worker ran
console.log(`worker ${runtime.workerId} ready`);

process.once('SIGTERM', () => {
  // A deploy: runs busy here are checkpointed and released, and the other workers continue them.
  void runtime.close().then(() => backend.close()).then(() => process.exit(0));
});
