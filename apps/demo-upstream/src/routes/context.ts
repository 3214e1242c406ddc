import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AccessTokenVerifier } from '../access-tokens.js';
import type { KeyRegistry } from '../key-registry.js';
import type { StatsRecorder } from '../stats-recorder.js';

/** Everything a route handler needs about one request. */
export interface RouteContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** Upper-case method; HEAD is kept as HEAD (Node omits the body itself). */
  readonly method: string;
  readonly rawPath: string;
  readonly routePath: string;
  readonly query: URLSearchParams;
  readonly headerNames: readonly string[];
  readonly registry: KeyRegistry;
  readonly stats: StatsRecorder;
  readonly adminToken: string;
  /** Checks JWT access tokens on `/v1/`; null when bearer tokens are not accepted. */
  readonly accessTokens: AccessTokenVerifier | null;
}

/** True for GET and HEAD. */
export function isRead(method: string): boolean {
  return method === 'GET' || method === 'HEAD';
}
