import type { Server } from 'node:http';
import type { ServerTimeouts } from '../transport/transport-policy.js';

/** The Node server settings Keyward tightens (`connectionsCheckingInterval` is read when the server starts listening). */
type TimedServer = Pick<Server, 'requestTimeout' | 'headersTimeout' | 'keepAliveTimeout'> & { connectionsCheckingInterval?: number };

/** The stricter of a server's value (0 = no limit) and Keyward's (null = leave it). */
function stricter(current: number, ours: number | null): number {
  if (ours === null) return current;
  return current > 0 && current <= ours ? current : ours;
}

/**
 * Puts `transport.requestTimeoutMs`, `headersTimeoutMs` and `keepAliveTimeoutMs` on the
 * app's HTTP server (Express's and Fastify's are both a Node `http.Server`), only where
 * they are stricter than what the server has: Node's lax defaults (requestTimeout 300 s,
 * headersTimeout 60 s) and Fastify's (no request timeout, keep-alive 72 s) are tightened;
 * an app's own stricter value is kept. Node enforces the request and header timeouts on a
 * timer (every 30 s by default), so the timer is made short enough for the timeouts to hold.
 */
export function tightenServerTimeouts(server: TimedServer, t: ServerTimeouts): void {
  server.requestTimeout = stricter(server.requestTimeout, t.requestTimeoutMs);
  server.headersTimeout = stricter(server.headersTimeout, t.headersTimeoutMs);
  // The headers are part of the request: a header deadline past the request's means nothing.
  if (server.requestTimeout > 0 && (server.headersTimeout === 0 || server.headersTimeout > server.requestTimeout)) server.headersTimeout = server.requestTimeout;
  server.keepAliveTimeout = stricter(server.keepAliveTimeout, t.keepAliveTimeoutMs);
  const limits = [server.requestTimeout, server.headersTimeout].filter((v) => v > 0);
  if (limits.length === 0) return;
  const interval = Math.max(100, Math.min(1000, Math.floor(Math.min(...limits) / 4)));
  if (!(typeof server.connectionsCheckingInterval === 'number' && server.connectionsCheckingInterval <= interval)) server.connectionsCheckingInterval = interval;
}
