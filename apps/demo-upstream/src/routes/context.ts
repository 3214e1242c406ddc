import type { IncomingMessage, ServerResponse } from 'node:http';
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
}

/** True for GET and HEAD. */
export function isRead(method: string): boolean {
  return method === 'GET' || method === 'HEAD';
}
