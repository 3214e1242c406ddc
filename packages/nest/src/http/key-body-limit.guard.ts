import { UseGuards, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { BodyTooLargeError } from '../keyward.errors.js';
import { intoNest } from './keyward-http.exception.js';

/**
 * Body limit of a key route: a JSON `{ "key": "..." }` with the longest key accepted
 * (1024 characters) fits many times over.
 */
export const DEFAULT_KEY_BODY_LIMIT = 4096;
const MAX_KEY_BODY_LIMIT = 1024 * 1024;

/** The size of a request's body as far as it can be known: declared length, raw bytes, or the parsed body re-serialised. */
function bodySize(req: { headers?: Record<string, unknown>; rawBody?: unknown; body?: unknown }): number {
  let size = 0;
  const declared = req.headers?.['content-length'];
  if (typeof declared === 'string' && /^\d{1,15}$/.test(declared)) size = Number(declared);
  if (Buffer.isBuffer(req.rawBody)) return Math.max(size, req.rawBody.length);
  const body = req.body;
  if (body === undefined || body === null) return size;
  if (typeof body === 'string') return Math.max(size, Buffer.byteLength(body));
  if (Buffer.isBuffer(body)) return Math.max(size, body.length);
  try {
    return Math.max(size, Buffer.byteLength(JSON.stringify(body) ?? ''));
  } catch {
    return Number.MAX_SAFE_INTEGER;
  }
}

/**
 * Refuses a request whose body is over `maxBytes` with `413 KW_BODY_TOO_LARGE`, on
 * Express and Fastify alike (it reads the declared length, the raw body when the app
 * keeps it, else the parsed body). Apply it with {@link KeyBodyLimit}.
 */
export class KeyBodyLimitGuard implements CanActivate {
  constructor(readonly maxBytes: number = DEFAULT_KEY_BODY_LIMIT) {
    if (!Number.isInteger(maxBytes) || maxBytes < 64 || maxBytes > MAX_KEY_BODY_LIMIT) {
      throw new TypeError(`KeyBodyLimit: maxBytes must be an integer from 64 to ${MAX_KEY_BODY_LIMIT} (got ${String(maxBytes)}).`);
    }
  }

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const req = context.switchToHttp().getRequest<{ headers?: Record<string, unknown>; rawBody?: unknown; body?: unknown }>();
    if (bodySize(req) > this.maxBytes) {
      // As a KeywardHttpException (413, Keyward's body), so an app's own exception filter answers it too.
      throw intoNest(new BodyTooLargeError(`A key request may carry at most ${this.maxBytes} bytes; send only JSON { "key": "<your key>" }.`), req, context.switchToHttp().getResponse());
    }
    return true;
  }
}

/**
 * A small body limit for routes that accept keys (`413 KW_BODY_TOO_LARGE` past it), on a
 * controller or a handler, on both adapters. Use it on every route that passes a body to
 * `vault.putUser()`: a key request never needs more than a few hundred bytes.
 *
 * It runs as a guard, after the framework has parsed the body, so the framework's own
 * parser limit still bounds what is read first (Express: 100 KB by default; Fastify:
 * `bodyLimit`, 1 MiB by default); keep that limit modest too.
 *
 * @default maxBytes 4096
 * @example
 * @Controller('api/keys')
 * @KeyBodyLimit()
 * export class KeysController { ... }
 */
export function KeyBodyLimit(maxBytes: number = DEFAULT_KEY_BODY_LIMIT): ClassDecorator & MethodDecorator {
  return UseGuards(new KeyBodyLimitGuard(maxBytes));
}
