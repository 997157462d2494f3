import { createApp } from './app.js';

const token = process.env.API_TOKEN ?? 'dev-token';
const { listen } = createApp({
  dbPath: process.env.SAVEPOINT_DB ?? '.savepoint/express.db',
  users: { [token]: { tenantId: 'acme', userId: 'manager' } },
});
const { server, close } = await listen(Number(process.env.PORT ?? 3000));
const address = server.address();
console.log(`listening on http://127.0.0.1:${typeof address === 'object' && address ? address.port : ''} (token: ${token})`);

process.once('SIGTERM', () => void close().then(() => process.exit(0)));
process.once('SIGINT', () => void close().then(() => process.exit(0)));
