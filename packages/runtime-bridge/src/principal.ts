import { z } from 'zod';

/** Who is calling: every route is scoped to `tenantId` (runs carry it); `userId` is recorded with actions. */
export const Principal = z.object({ tenantId: z.string().min(1).max(256), userId: z.string().min(1).max(256) });
export type Principal = z.infer<typeof Principal>;

/**
 * Authenticates a request (headers, cookies, a `?token=` on WebSocket URLs...). Returns the principal,
 * or null for a 401. A throw is a server error (500), never a 401.
 */
export type AuthHook = (request: Request) => Principal | null | Promise<Principal | null>;

/** Without an `auth` hook: one anonymous tenant (development, single-user tools). */
export const ANONYMOUS: Principal = Object.freeze({ tenantId: 'default', userId: 'anonymous' });
