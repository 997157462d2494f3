import { serve } from '@hono/node-server';
import { createApp } from './app.js';

const apiKey = process.env.API_KEY ?? 'dev-key';
const { app, close } = createApp({ dir: process.env.SAVEPOINT_DIR ?? '.savepoint/hono', apiKey });
const server = serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 3000) }, (info) =>
  console.log(`listening on http://127.0.0.1:${info.port} (x-api-key: ${apiKey})`),
);

const stop = () => server.close(() => void close().then(() => process.exit(0)));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
