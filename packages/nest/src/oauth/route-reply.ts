import { ServerResponse } from 'node:http';

/** Writes the answers of the connect and sign-in routes (redirects, handle cookies, JSON) on either adapter: Express's ServerResponse or Fastify's reply. */
interface FastifyLikeReply {
  raw: ServerResponse;
  header(name: string, value: string): unknown;
  code(status: number): FastifyLikeReply;
  send(body?: unknown): unknown;
}

function isFastify(res: unknown): res is FastifyLikeReply {
  return !(res instanceof ServerResponse) && typeof res === 'object' && res !== null && 'raw' in res;
}

/** Adds a Set-Cookie, keeping others (the session cookie may be set on the same answer). */
export function appendCookie(res: unknown, value: string): void {
  if (isFastify(res)) res.header('set-cookie', value);
  else (res as ServerResponse).appendHeader('set-cookie', value);
}

/** A `no-store` 302. */
export function redirect(res: unknown, location: string): void {
  send(res, 302, undefined, { location });
}

/** A `no-store` JSON answer. */
export function sendJson(res: unknown, status: number, body: unknown): void {
  send(res, status, JSON.stringify(body), { 'content-type': 'application/json; charset=utf-8' });
}

function send(res: unknown, status: number, body: string | undefined, headers: Record<string, string>): void {
  const all: Record<string, string> = { 'cache-control': 'no-store', ...headers };
  if (isFastify(res)) {
    for (const [k, v] of Object.entries(all)) res.header(k, v);
    res.code(status).send(body);
    return;
  }
  const r = res as ServerResponse;
  for (const [k, v] of Object.entries(all)) r.setHeader(k, v);
  r.statusCode = status;
  r.end(body);
}

