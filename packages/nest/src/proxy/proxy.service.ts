import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import { Agent, errors as undiciErrors, request } from 'undici';
import { HostNotAllowedError, OriginRefusedError, ProxyError, ProxyErrorCode } from '../keyward.errors.js';
import { isHostAllowed, type HostPolicy } from '../origin/host-policy.js';
import { checkOrigin, type OriginPolicy } from '../origin/origin-policy.js';
import type { StoredSession } from '../stores/session-store.interface.js';
import type { CredentialService } from '../vault/credential.service.js';
import { isForbiddenHeader, type ResolvedProxyService } from './proxy-options.js';
import { joinBelow, normalizeProxyPath } from './proxy-path.js';
import { ProxySlots, type CallLease, type ProxyStats } from './proxy-slots.js';
import { scrubBuffer, scrubString, secretForms } from './scrub.js';

/** One call to forward, as the HTTP edge hands it over (plain values, no framework objects). */
export interface ProxyCall {
  service: string;
  method: string;
  /** Raw path after `/<prefix>/<service>/`, with its query string, not decoded. */
  rest: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer | undefined;
  session: StoredSession;
  /** The app's own origin as this request addressed it. */
  selfOrigin: string | null;
  /**
   * Runs once the call has passed every check and holds its in-flight slot, right before
   * the key is fetched: the proxy route counts the call against its limits here (it throws
   * to refuse). Absent when the service has no limit.
   */
  admit?: () => Promise<void>;
}

export interface ProxyResult {
  status: number;
  headers: Array<[string, string]>;
  body: Buffer;
}

/**
 * A proxied answer whose call still holds its concurrency slots and its bytes (see
 * {@link ProxyService.forwardHeld}): call `release()` once the answer has left the process
 * (the response's `finish` or `close`); later calls do nothing.
 */
export interface HeldProxyResult extends ProxyResult {
  release(): void;
}

const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** The refusals that were an upstream 401 (the credential may be renewed and the call sent once more). */
const UNAUTHORIZED = new WeakSet<object>();

/**
 * The `Cache-Control` of a proxied answer. Proxied answers are authenticated: `no-store`
 * unless the service is `cacheable`; then the upstream's directives, always `private`
 * (its `public`, `private` and `s-maxage` dropped), or `no-store` if it sent none.
 */
export function proxiedCacheControl(cacheable: boolean, upstream: string | undefined): string {
  if (!cacheable || upstream === undefined) return 'no-store';
  const kept = splitDirectives(upstream).filter((d) => !/^(?:public|private|s-maxage)\s*(?:=|$)/i.test(d));
  return upstream.trim() === '' ? 'no-store' : ['private', ...kept].join(', ');
}

/** Cache-Control directives, split at commas outside quoted strings (`private="a, b"`). */
function splitDirectives(value: string): string[] {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (quoted && c === '\\') {
      current += c + (value[++i] ?? '');
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === ',' && !quoted) {
      out.push(current.trim());
      current = '';
    } else current += c;
  }
  out.push(current.trim());
  return out.filter((d) => d.length > 0);
}

/**
 * The key header's value: `format` with its `{key}` placeholder replaced by the key,
 * literally. Never `String.prototype.replace` with a string: it expands `$&`, `$'`,
 * `` $` `` and `$$` in the key, so such a key would reach the upstream altered (and the
 * scrubber would look for the unaltered form).
 */
export function keyHeaderValue(format: string, key: string): string {
  const at = format.indexOf('{key}');
  return at < 0 ? format : format.slice(0, at) + key + format.slice(at + '{key}'.length);
}

/** What the proxy is told at startup (the module hands it these, taken from the validated options). */
export interface ProxySettings {
  /** The configured services, by name. */
  services: ReadonlyMap<string, ResolvedProxyService>;
  /** The origin/CSRF policy, checked again at the point of use. */
  origin: OriginPolicy;
  /** The Host allowlist, checked again at the point of use. */
  hosts: HostPolicy;
}

/**
 * The backend-for-frontend proxy: checks origin (again, here, where the key is attached),
 * method and path, attaches the key from the service's credential provider, forwards an
 * allowlist of headers over a keep-alive undici pool, and returns the answer with an
 * allowlist of headers and every trace of the key removed.
 */
export class ProxyService implements OnApplicationShutdown {
  private readonly logger = new Logger('KeywardProxy');
  private readonly agents = new Map<string, Agent>();
  /** Calls in flight per service, session and user, and bytes of answers held (in this process). */
  private readonly slots: ProxySlots;

  private readonly byName: ReadonlyMap<string, ResolvedProxyService>;
  private readonly origin: OriginPolicy;
  private readonly hosts: HostPolicy;

  /** Made by `KeywardModule` (inject `ProxyService` to use it). */
  constructor(
    settings: ProxySettings,
    private readonly credentials: CredentialService,
  ) {
    this.byName = settings.services;
    this.origin = settings.origin;
    this.hosts = settings.hosts;
    // The proxy-wide bounds ride on every service (one object); no service, nothing to bound.
    const first = this.byName.values().next().value as ResolvedProxyService | undefined;
    this.slots = new ProxySlots(first?.answers ?? { writeTimeoutMs: 30_000, maxBufferedBytesPerSession: 0, maxBufferedBytes: 0 });
    for (const svc of this.byName.values()) {
      this.agents.set(
        svc.name,
        new Agent({
          connections: svc.maxConcurrent,
          pipelining: 1,
          keepAliveTimeout: 30_000,
          connect: { rejectUnauthorized: !svc.insecureTls, timeout: Math.min(svc.timeoutMs, 5000) },
        }),
      );
      if (svc.plainHttp) this.logger.warn(`Proxy service "${svc.name}" uses plain http to a loopback address.`);
    }
  }

  /** Names of the configured services. */
  get services(): string[] {
    return [...this.byName.keys()];
  }

  /**
   * What the proxy holds now in this process: calls in flight (until their answer has left
   * the process), bytes of answers not yet taken by their clients, stalled writes closed.
   * @example app.get(ProxyService).stats().bufferedBytes
   */
  stats(): ProxyStats {
    return this.slots.stats();
  }

  /** Counts a connection closed because its client took nothing for `proxy.writeTimeoutMs` (the edge's writer calls it). */
  noteWriteTimeout(): void {
    this.slots.noteWriteTimeout();
  }

  /**
   * Forwards a call and returns the answer; its slots and bytes are given back as it
   * returns (the caller holds the bytes from then on, unaccounted). The proxy route uses
   * {@link forwardHeld}, which keeps them until the answer has left the process.
   */
  async forward(call: ProxyCall): Promise<ProxyResult> {
    const held = await this.forwardHeld(call);
    held.release();
    return { status: held.status, headers: held.headers, body: held.body };
  }

  /**
   * Forwards a call and returns the answer with the call's concurrency slots (service,
   * session, user) and its bytes still held: the caller calls `release()` once the answer
   * has been written to the client's socket, or the socket closed. Until then they count
   * against `maxConcurrent*`, `proxy.maxBufferedBytesPerSession` and `proxy.maxBufferedBytes`.
   */
  async forwardHeld(call: ProxyCall): Promise<HeldProxyResult> {
    const svc = this.byName.get(call.service);
    if (!svc) throw new ProxyError(ProxyErrorCode.UnknownService, 'No such proxy service.');
    // Point of use: the Host allowlist (DNS rebinding) and the origin/CSRF check run here
    // whatever the routing layer did.
    if (!isHostAllowed(call.selfOrigin ? new URL(call.selfOrigin).host : undefined, this.hosts)) throw new HostNotAllowedError();
    const verdict = checkOrigin(call.method, call.headers, call.selfOrigin, this.origin);
    if (!verdict.ok) throw new OriginRefusedError(verdict.code, verdict.reason);
    const method = call.method.toUpperCase();
    if (!svc.methods.has(method)) throw new ProxyError(ProxyErrorCode.MethodNotAllowed, `Method ${method} is not allowed for "${svc.name}".`);
    const path = normalizeProxyPath(call.rest);
    if (!path.ok) throw new ProxyError(ProxyErrorCode.BadPath, `Refused proxy path: ${path.reason}.`);
    const target = joinBelow(svc.base, path.path, path.query);
    const body = call.body && call.body.length > 0 ? call.body : undefined;
    if (body && body.length > svc.maxRequestBytes) throw new ProxyError(ProxyErrorCode.BodyTooLarge, `Request body exceeds ${svc.maxRequestBytes} bytes.`);
    const headers = this.outgoingHeaders(svc, call.headers);

    const lease = this.slots.take(svc, call.session);
    try {
      // The call limits, at the point of use: after every check, before the key or the upstream.
      if (call.admit) await call.admit();
      const key = await this.credentials.acquire(call.session, svc.credential);
      let forms = secretForms(key.reveal());
      this.attach(svc, headers, key.reveal());
      let result: ProxyResult;
      try {
        result = await this.send(svc, target, method, headers, body, forms, lease);
      } catch (e) {
        // An upstream 401 to this credential: renewed once (an OAuth refresh), then the call
        // is sent again with it. The body is the buffered copy (within maxRequestBytes), so
        // the retry sends the same bytes; a second 401 goes to the client.
        if (!UNAUTHORIZED.has(e as object)) throw e;
        const fresh = await this.credentials.renew(call.session, svc.credential, key);
        if (!fresh) throw e;
        forms = [...forms, ...secretForms(fresh.reveal())];
        this.attach(svc, headers, fresh.reveal());
        result = await this.send(svc, target, method, headers, body, forms, lease);
      }
      return Object.assign(result, { release: () => lease.release() });
    } catch (e) {
      lease.release();
      throw e;
    }
  }

  private attach(svc: ResolvedProxyService, headers: Record<string, string>, key: string): void {
    const keyValue = keyHeaderValue(svc.keyFormat, key);
    if (!HEADER_VALUE.test(keyValue)) throw new ProxyError(ProxyErrorCode.BadHeader, `The key for "${svc.name}" cannot be sent in a header.`);
    headers[svc.keyHeader] = keyValue;
  }

  private outgoingHeaders(svc: ResolvedProxyService, incoming: ProxyCall['headers']): Record<string, string> {
    const out: Record<string, string> = { 'accept-encoding': 'identity' };
    for (const name of svc.forwardHeaders) {
      if (isForbiddenHeader(name)) continue;
      const v = incoming[name];
      if (v === undefined) continue;
      const value = Array.isArray(v) ? v.join(', ') : v;
      if (!HEADER_VALUE.test(value)) throw new ProxyError(ProxyErrorCode.BadHeader, `Header ${name} has characters that cannot be forwarded.`);
      out[name] = value;
    }
    return out;
  }

  /**
   * One deadline for the whole exchange (connect, headers and body). A plain timer and an
   * emitter (undici accepts either as its signal) cost far less per call than
   * `AbortSignal.timeout`, and the timer is cleared as soon as the call is over.
   */
  private async send(svc: ResolvedProxyService, target: URL, method: string, headers: Record<string, string>, body: Buffer | undefined, forms: readonly string[], lease: CallLease): Promise<ProxyResult> {
    const deadline = new EventEmitter();
    const timer = setTimeout(() => deadline.emit('abort'), svc.timeoutMs);
    try {
      return await this.exchange(svc, target, method, headers, body, forms, deadline, lease);
    } finally {
      clearTimeout(timer);
    }
  }

  private async exchange(
    svc: ResolvedProxyService,
    target: URL,
    method: string,
    headers: Record<string, string>,
    body: Buffer | undefined,
    forms: readonly string[],
    signal: EventEmitter,
    lease: CallLease,
  ): Promise<ProxyResult> {
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(target, {
        method: method as 'GET',
        headers,
        body,
        dispatcher: this.agents.get(svc.name)!,
        headersTimeout: svc.timeoutMs,
        bodyTimeout: svc.timeoutMs,
        signal,
      });
    } catch (e) {
      throw this.failure(svc, e);
    }
    const status = res.statusCode;
    let raw: Buffer;
    try {
      raw = await this.readLimited(svc, res, status, lease);
    } catch (e) {
      // destroy() makes undici's body emit 'error'; with no listener that is an uncaught exception (a crash).
      res.body.on('error', () => undefined);
      res.body.destroy();
      throw e instanceof ProxyError ? e : this.failure(svc, e);
    }
    if (status >= 300 && status < 400 && status !== 304) throw new ProxyError(ProxyErrorCode.Redirect, `Upstream "${svc.name}" answered with a redirect, which is not followed.`);
    if (status === 401 || status === 403) {
      const refused = new ProxyError(ProxyErrorCode.AuthFailed, `Upstream "${svc.name}" refused our credentials.`);
      if (status === 401) UNAUTHORIZED.add(refused);
      throw refused;
    }
    if (status >= 500) throw new ProxyError(ProxyErrorCode.Failed, `Upstream "${svc.name}" failed (status ${status}).`);
    const encoding = String(res.headers['content-encoding'] ?? 'identity').toLowerCase();
    if (encoding !== 'identity') throw new ProxyError(ProxyErrorCode.Encoding, `Upstream "${svc.name}" sent an encoded body that cannot be checked for key echoes.`);

    const scrubbed = scrubBuffer(raw, forms);
    let hits = scrubbed.hits;
    const outHeaders: Array<[string, string]> = [];
    let upstreamCacheControl: string | undefined;
    for (const [name, value] of Object.entries(res.headers)) {
      const n = name.toLowerCase();
      if (!svc.responseHeaders.has(n) || isForbiddenHeader(n) || value === undefined) continue;
      const joined = Array.isArray(value) ? value.join(', ') : String(value);
      const clean = scrubString(joined, forms);
      hits += clean.hits;
      if (n === 'cache-control') upstreamCacheControl = clean.text;
      else outHeaders.push([n, clean.text]);
    }
    outHeaders.push(['cache-control', proxiedCacheControl(svc.cacheable, upstreamCacheControl)]);
    lease.settle(scrubbed.body.length);
    if (hits > 0) this.logger.warn(`Upstream "${svc.name}" echoed its API key ${hits} time(s); removed from the response.`);
    return { status, headers: outHeaders, body: scrubbed.body };
  }

  /**
   * Reads the answer's body within `maxResponseBytes`, counting its bytes on the call's
   * lease as they come (the whole declared length at once), so the session's and the
   * process's buffer bounds refuse it before it is all in memory.
   */
  private async readLimited(svc: ResolvedProxyService, res: Awaited<ReturnType<typeof request>>, status: number, lease: CallLease): Promise<Buffer> {
    const declared = Number(res.headers['content-length']);
    if (Number.isFinite(declared) && declared > svc.maxResponseBytes) {
      throw new ProxyError(ProxyErrorCode.ResponseTooLarge, `Upstream "${svc.name}" answered with more than ${svc.maxResponseBytes} bytes.`);
    }
    if (status >= 300 && status !== 304 && (status < 400 || status === 401 || status === 403 || status >= 500)) {
      await res.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
      return Buffer.alloc(0);
    }
    // A declared length is what the HTTP parser will deliver, no more: read it in one go.
    if (Number.isFinite(declared)) {
      lease.reserve(declared);
      return Buffer.from(await res.body.arrayBuffer());
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > svc.maxResponseBytes) throw new ProxyError(ProxyErrorCode.ResponseTooLarge, `Upstream "${svc.name}" answered with more than ${svc.maxResponseBytes} bytes.`);
      lease.reserve((chunk as Buffer).length);
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  }

  private failure(svc: ResolvedProxyService, e: unknown): ProxyError {
    const timedOut =
      e instanceof undiciErrors.HeadersTimeoutError ||
      e instanceof undiciErrors.BodyTimeoutError ||
      e instanceof undiciErrors.ConnectTimeoutError ||
      (e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError'));
    return timedOut
      ? new ProxyError(ProxyErrorCode.Timeout, `Upstream "${svc.name}" did not answer in time.`)
      : new ProxyError(ProxyErrorCode.Unavailable, `Upstream "${svc.name}" is unreachable.`);
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.agents.values()].map((a) => a.close().catch(() => undefined)));
  }
}
