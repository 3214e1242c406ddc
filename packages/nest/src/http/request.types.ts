/**
 * The request shapes the edge works with: plain types, no code. The capability folders
 * never see them; they get plain values (headers, a URL, a session record).
 */
import type { IncomingMessage } from 'node:http';
import type { REQUEST_ID, REQUEST_SESSION, SEEN_AT_EDGE } from '../keyward.internal-constants.js';

/** A request of either adapter (Express `req`, Fastify `FastifyRequest`) or the raw Node one: all expose lower-cased `headers`. */
export interface AnyRequest {
  headers: Record<string, string | string[] | undefined>;
  method?: string;
  url?: string;
  [key: string | symbol]: unknown;
}

/**
 * The raw Node request as the edge sees it: marked once Keyward's layer has run for it,
 * with its request id and (once read) its session, and what Express, middie or a body
 * parser may have added.
 */
export type EdgeRequest = IncomingMessage & {
  [SEEN_AT_EDGE]?: true;
  [REQUEST_ID]?: string;
  [REQUEST_SESSION]?: unknown;
  /** The URL as the client sent it (Express and middie rewrite `url` below a mount path). */
  originalUrl?: string;
  rawBody?: Buffer;
  body?: unknown;
};
