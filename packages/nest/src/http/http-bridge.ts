/**
 * The few things Keyward does to a request or response, for both Nest adapters:
 * Express (`req`/`res`) and Fastify (`FastifyRequest`/`FastifyReply`).
 */

import { ServerResponse } from 'node:http';
import type { HeaderWriter } from '../session/request-session.js';

interface FastifyLikeReply {
  raw: unknown;
  header(name: string, value: string): unknown;
  getHeader(name: string): unknown;
}

interface ExpressLikeResponse {
  append(name: string, value: string): unknown;
  getHeader(name: string): unknown;
  setHeader(name: string, value: string): unknown;
}

function isFastifyReply(res: unknown): res is FastifyLikeReply {
  // A Node response (Express's is one) is never a Fastify reply: settled without a property search.
  if (res instanceof ServerResponse) return false;
  return typeof res === 'object' && res !== null && 'raw' in res && typeof (res as FastifyLikeReply).header === 'function';
}

/** Adds a response header value, keeping earlier values of the same name (Set-Cookie, Vary). */
export function appendHeader(res: unknown, name: string, value: string): void {
  if (isFastifyReply(res)) {
    if (name.toLowerCase() === 'set-cookie') {
      res.header(name, value); // Fastify accumulates Set-Cookie values
      return;
    }
    const prev = res.getHeader(name);
    res.header(name, prev === undefined ? value : `${String(prev)}, ${value}`);
    return;
  }
  const r = res as Partial<ExpressLikeResponse> & { appendHeader?(n: string, v: string): unknown };
  if (typeof r.append === 'function') r.append(name, value);
  else r.appendHeader!(name, value); // a raw Node ServerResponse (middleware on either adapter)
}

/** Sets (replaces) a response header. */
export function setHeader(res: unknown, name: string, value: string): void {
  if (isFastifyReply(res)) res.header(name, value);
  else (res as ExpressLikeResponse).setHeader(name, value);
}

/**
 * How a {@link RequestSession} writes its cookie headers on either adapter: handed to it by
 * the edge, one object for every request (no allocation per request).
 */
export const RESPONSE_HEADERS: HeaderWriter = Object.freeze({ append: appendHeader, set: setHeader });
