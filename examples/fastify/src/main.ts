import { createApp } from './app.js';

const token = process.env.API_TOKEN ?? 'dev-token';
const app = await createApp({
  redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0',
  sessions: { [token]: { tenantId: 'shop', userId: 'lead' } },
});
const address = await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' });
console.log(`listening on ${address} (token: ${token})`);

const stop = () => void app.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
