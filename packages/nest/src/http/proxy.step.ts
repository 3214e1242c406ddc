import { KeywardEvents } from '../events/keyward-events.js';
import { Inject, Optional, Injectable } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { HttpsRequiredError, OriginRefusedError, ProxyError, ProxyErrorCode } from '../keyward.errors.js';
import { PROXY_PATH, RESOLVED_OPTIONS } from '../keyward.internal-constants.js';
import type { ResolvedKeywardOptions } from '../options/keyward-options.interface.js';
import { checkOrigin } from '../origin/origin-policy.js';
import { ProxyLimiter } from '../proxy/proxy-limiter.js';
import { ProxyService } from '../proxy/proxy.service.js';
import { SessionEngine } from '../session/session.engine.js';
import { isPlainHttpProbe, requestOrigin, type TransportRequest } from '../transport/transport-policy.js';
import { writeError } from './error-writer.js';
import type { AnyRequest, EdgeRequest } from './request.types.js';
import { noteRefusal } from './request-context.step.js';
import { attachSession, refusalFor } from './session.guard.js';

type RawRequest = EdgeRequest;

/** Reads the request body: the raw bytes if a parser kept them, else the stream, bounded. */
async function readBody(req: RawRequest, limit: number): Promise<Buffer | undefined> {
  if (Buffer.isBuffer(req.rawBody)) return req.rawBody;
  if (Buffer.isBuffer(req.body)) return req.body;
  if (typeof req.body === 'string') return Buffer.from(req.body, 'utf8');
  // A request without Content-Length or Transfer-Encoding has no body: do not touch the stream.
  if (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined) return undefined;
  if (req.readable && !req.readableEnded) {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > limit) throw new ProxyError(ProxyErrorCode.BodyTooLarge, `Request body exceeds ${limit} bytes.`);
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  }
  // Parsed by a body parser that kept no raw copy (create the app with { rawBody: true } to forward it byte for byte).
  if (req.body !== undefined && req.body !== null && typeof req.body === 'object' && Object.keys(req.body).length > 0) {
    return Buffer.from(JSON.stringify(req.body), 'utf8');
  }
  return undefined;
}

/** Bytes handed to the socket at a time: a client that takes one slice per `writeTimeoutMs` is making progress. */
const SLICE = 64 * 1024;

interface PendingWrite {
  res: ServerResponse;
  /** When the client last took bytes (or the write began). */
  last: number;
}

/**
 * Writes proxied answers and keeps each call's lease (slots and bytes) until its answer has
 * left the process: the response's `finish` (every byte handed to the socket) or `close`.
 * Large answers go out in slices, each after the client took the one before; a write that
 * makes no progress for `writeTimeoutMs` has its connection closed, by one timer for all
 * pending writes (running only while there are some).
 */
export class AnswerWriter {
  private readonly pending = new Set<PendingWrite>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly timeoutMs: number,
    private readonly onTimeout: () => void,
  ) {}

  write(res: ServerResponse, status: number, body: Buffer, release: () => void): void {
    const entry: PendingWrite = { res, last: Date.now() };
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      this.pending.delete(entry);
      release();
    };
    res.once('finish', finish);
    res.once('close', finish);
    // The client went away while the upstream answered: nothing to write, nothing to hold.
    if (res.destroyed || res.socket?.destroyed) return finish();
    res.statusCode = status;
    if (body.length <= SLICE) res.end(body);
    else {
      res.setHeader('content-length', body.length);
      let at = 0;
      const pump = (): void => {
        entry.last = Date.now();
        while (at < body.length) {
          const piece = body.subarray(at, (at += SLICE));
          if (at >= body.length) res.end(piece);
          else if (!res.write(piece)) return void res.once('drain', pump);
        }
      };
      pump();
    }
    if (done) return;
    this.pending.add(entry);
    this.timer ??= setInterval(() => this.sweep(), Math.max(25, Math.min(1000, Math.floor(this.timeoutMs / 4)))).unref();
  }

  /** Closes the connections whose client took nothing for `timeoutMs`; stops when nothing is pending. */
  private sweep(): void {
    const now = Date.now();
    for (const entry of this.pending) {
      if (now - entry.last < this.timeoutMs) continue;
      this.pending.delete(entry);
      this.onTimeout();
      entry.res.destroy();
    }
    if (this.pending.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }
}

/**
 * The edge's proxy route at `/<prefix>/<service>/<path>`, the last step of the edge for
 * proxied calls, on the raw Node request, so it reads the exact bytes of the URL and body
 * on both adapters. It checks the origin, reads the session (one store round trip), then
 * hands plain values to {@link ProxyService}, which checks the Host and the origin again
 * where the key is attached, and, where the service has call limits, asks the route's
 * {@link ProxyLimiter} right before the key is fetched (one more round trip). The answer is
 * written by the {@link AnswerWriter}, which keeps the call's slots and bytes until the
 * client has taken it. Every failure is answered by the one error writer.
 */
@Injectable()
export class ProxyRoute {
  /** `/<proxy path>/`, or null when the app turned the proxy route off (`proxyPath: false`). */
  private readonly prefix: string | null;
  /** Counts calls against `proxy.limits` in the session store (or `proxy.limitStorage`), on the engine's clock. */
  private readonly limiter: ProxyLimiter;
  /** Writes the answers, holding each call's slots and bytes until its client has taken it (`proxy.writeTimeoutMs`). */
  private readonly writer: AnswerWriter;

  constructor(
    @Inject(ProxyService) private readonly proxy: ProxyService,
    @Inject(SessionEngine) private readonly engine: SessionEngine,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedKeywardOptions,
    @Inject(PROXY_PATH) proxyPath: string | false,
    @Optional() @Inject(KeywardEvents) private readonly events?: KeywardEvents,
  ) {
    this.prefix = proxyPath === false ? null : `/${proxyPath.replace(/^\/+|\/+$/g, '')}/`;
    this.limiter = new ProxyLimiter(options.session.store, options.session.clock);
    const bounds = options.proxy.values().next().value?.answers;
    this.writer = new AnswerWriter(bounds?.writeTimeoutMs ?? 30_000, () => proxy.noteWriteTimeout());
  }

  /** True if the request is for the proxy (it must then go to {@link ProxyRoute.forward}). */
  handles(req: RawRequest): boolean {
    return this.prefix !== null && (req.originalUrl ?? req.url ?? '').startsWith(this.prefix);
  }

  /** Answers a proxied call; never throws (every failure becomes a Keyward error response). */
  async forward(req: RawRequest, res: ServerResponse): Promise<void> {
    const url = req.originalUrl ?? req.url ?? '';
    const prefix = this.prefix ?? '/';
    try {
      // A probe path over plain HTTP is never a way to a key: checked here, where the key is attached.
      if (isPlainHttpProbe(req)) throw new HttpsRequiredError();
      const afterPrefix = url.slice(prefix.length);
      const slash = afterPrefix.indexOf('/');
      const service = slash < 0 ? afterPrefix.split('?')[0]! : afterPrefix.slice(0, slash);
      const svc = this.options.proxy.get(service);
      if (!svc) throw new ProxyError(ProxyErrorCode.UnknownService, 'No such proxy service.');
      if (slash < 0) throw new ProxyError(ProxyErrorCode.BadPath, 'Refused proxy path: missing path after the service name.');
      const selfOrigin = requestOrigin(req as unknown as TransportRequest, this.options.transport);
      // A request that carries a cookie is refused on its origin before the session is read, so a
      // refused request never slides the idle expiry or gets a cookie back. Without a cookie the
      // answer is 401 either way.
      if (req.headers.cookie !== undefined) {
        const verdict = checkOrigin(req.method, req.headers, selfOrigin, this.options.origin);
        if (!verdict.ok) throw new OriginRefusedError(verdict.code, verdict.reason);
      }
      const session = await attachSession(this.engine, req as unknown as AnyRequest, res);
      const record = session.storedRecord;
      if (!record) throw refusalFor(req as unknown as AnyRequest);
      const declared = Number(req.headers['content-length']);
      if (Number.isFinite(declared) && declared > svc.maxRequestBytes) throw new ProxyError(ProxyErrorCode.BodyTooLarge, `Request body exceeds ${svc.maxRequestBytes} bytes.`);
      const result = await this.proxy.forwardHeld({
        service,
        method: req.method ?? 'GET',
        rest: afterPrefix.slice(slash + 1),
        headers: req.headers,
        // Reached only with a session, i.e. with a cookie whose origin was checked above.
        body: await readBody(req, svc.maxRequestBytes),
        session: record,
        selfOrigin,
        // No limit, no cost: the store is asked only for a service that has one.
        admit: svc.limits.rules.length > 0 ? () => this.limiter.admit(record, svc) : undefined,
      });
      // The service decides Cache-Control (no-store unless the service is cacheable), except on
      // an answer that also refreshes or rotates the session cookie: that one is never stored.
      try {
        const setsCookie = res.hasHeader('set-cookie');
        for (const [name, value] of result.headers) if (!(setsCookie && name === 'cache-control')) res.setHeader(name, value);
      } catch (e) {
        result.release();
        throw e;
      }
      // The call's slots and bytes stay held until the client has taken the answer (or gone).
      this.writer.write(res, result.status, result.body, result.release);
    } catch (e) {
      noteRefusal(res, e); // the request log's code for this call (logRequests; owned by http/request-context.step.ts)
      writeError(req, res, e, this.events);
    }
  }
}
