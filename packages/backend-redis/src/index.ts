export { RedisBackend, type RedisBackendOptions } from './redis-backend.js';
export { RECOMMENDED_CLIENT_OPTIONS, type RedisClientLike, type RedisPipelineLike, type RedisArgument } from './redis-client.js';
