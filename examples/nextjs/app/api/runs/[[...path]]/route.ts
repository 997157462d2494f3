// Next.js App Router: every method and sub-path of /api/runs goes to the runtime's Web-standard handler.
import { savepoint } from '../../../../lib/savepoint.js';

export const runtime = 'nodejs'; // better-sqlite3 and the runtime's timers need Node, not the Edge runtime
export const dynamic = 'force-dynamic'; // event streams and run states are never cached

export async function GET(request: Request): Promise<Response> {
  return savepoint.handler(request);
}

export async function POST(request: Request): Promise<Response> {
  return savepoint.handler(request);
}
