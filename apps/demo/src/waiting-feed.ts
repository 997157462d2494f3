// `GET /waiting-events`: tells every open page that the "Waiting for you" list may have changed, so it reloads
// the list at once instead of polling. The bridge streams the events of one run at a time (a page subscribes to
// the run it shows), but the list is about every run, including runs another client starts: this feed listens to
// the workflow in this process, which sees every run the runtime executes (started, answered, resumed, forked).
import type { ServerResponse } from 'node:http';
import type { Workflow } from '@savepoint/core';

/**
 * The events after which a run may have entered or left `pending_input` in storage. `checkpoint_created` covers
 * every stored status change (the question's checkpoint is committed before `approval_requested`, the answer's
 * effect is committed by the next checkpoint); the others cover runs that end or pause.
 */
const CHANGES = new Set(['checkpoint_created', 'approval_requested', 'run_paused', 'run_completed', 'run_failed', 'run_canceled']);

export interface WaitingFeed {
  /** Answers `GET /waiting-events` with an SSE stream of `changed` hints. */
  handle(res: ServerResponse): void;
  /** Ends every stream and stops listening (the server is closing). */
  close(): void;
}

export function waitingFeed<I, O>(workflow: Workflow<I, O>, { heartbeatMs = 15_000 } = {}): WaitingFeed {
  const clients = new Set<ServerResponse>();
  // A hint, never data: the page reloads the list through the bridge, which applies its auth and tenant scoping.
  const stopListening = workflow.on('*', (event) => {
    if (!CHANGES.has(event.type)) return;
    for (const res of clients) res.write('data: changed\n\n');
  });
  // Comments keep proxies and idle-timeouts from closing a stream that has nothing to say for a while.
  const heartbeat = setInterval(() => {
    for (const res of clients) res.write(': ping\n\n');
  }, heartbeatMs);
  heartbeat.unref();

  return {
    handle(res) {
      res.writeHead(200, {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-cache',
        'X-Content-Type-Options': 'nosniff',
        Connection: 'keep-alive',
      });
      // After a restart of the server, the browser reconnects within a second and the page reloads the list.
      res.write('retry: 1000\n\n');
      clients.add(res);
      res.on('close', () => clients.delete(res));
    },
    close() {
      stopListening();
      clearInterval(heartbeat);
      for (const res of clients) res.end();
      clients.clear();
    },
  };
}
