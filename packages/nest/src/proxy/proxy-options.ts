import type { SessionStore } from '../stores/session-store.interface.js';
import { didYouMean, duration, isPlainObject, show, unknownKeys } from '../util/option-checks.js';
import { resolveLimitList, resolveLimitStorage, type ProxyCallLimit, type ProxyLimitStorage, type ResolvedProxyLimits } from './proxy-limits.js';

/** How the key is attached to the upstream request. */
export interface KeyPlacement {
  /** Header name, e.g. `x-api-key` or `authorization`. */
  header: string;
  /**
   * Header value template; `{key}` is replaced by the key.
   * @default '{key}'
   * @example 'Bearer {key}'
   */
  format?: string;
}

/** One upstream service the backend-for-frontend proxy may call. */
export interface ProxyServiceOptions {
  /** Base URL; nothing outside its path can be reached. `https://` only, except loopback with `allowHttpToLoopback`. */
  baseUrl: string;
  /** Name of the credential (in `credentials`) whose key is attached. */
  credential: string;
  /** Where the key goes. @default { header: 'authorization', format: 'Bearer {key}' } */
  key?: KeyPlacement;
  /** @default ['GET', 'POST'] */
  methods?: string[];
  /** Extra request headers forwarded besides the defaults (accept, accept-language, content-type, content-language, if-*). */
  forwardHeaders?: string[];
  /** Extra response headers returned besides the defaults (content-type, etag, last-modified, ...). `Cache-Control` is Keyward's own: see `cacheable`. */
  responseHeaders?: string[];
  /** Whole-call timeout (headers and body). @default 10_000 */
  timeoutMs?: number;
  /** @default 1_048_576 (1 MiB) */
  maxRequestBytes?: number;
  /** @default 10_485_760 (10 MiB) */
  maxResponseBytes?: number;
  /**
   * Connections to this upstream (calls running at once). Up to 4 x this many calls may be
   * in flight (running or waiting for a connection); further calls fail at once with 503
   * `KW_UPSTREAM_BUSY` and `Retry-After`.
   * @default 64
   */
  maxConcurrent?: number;
  /**
   * Most calls one session may have in flight to this upstream at once, so that one
   * session's slow calls cannot take every connection from the others. Further calls of
   * that session fail at once with 429 `KW_PROXY_SESSION_BUSY` and `Retry-After`. At most
   * `maxConcurrent`; keep it well below, so other sessions always find a free connection.
   * @default a quarter of maxConcurrent, at least 1 (16 with the default maxConcurrent)
   * @example 4
   */
  maxConcurrentPerSession?: number;
  /**
   * Most calls one user may have in flight to this upstream at once, over all their
   * sessions, so that opening several sessions does not multiply a user's share. Further
   * calls fail at once with 429 `KW_PROXY_USER_BUSY` and `Retry-After`. A session without a
   * user ID is counted on its own. Counted in this process: with N instances behind a load
   * balancer a user may hold up to N times this many.
   * @default twice maxConcurrentPerSession, at most maxConcurrent (32 with the default maxConcurrent)
   * @example 8
   */
  maxConcurrentPerUser?: number;
  /**
   * Whether the browser may cache this upstream's answers. Proxied answers are
   * authenticated, so by default each carries `Cache-Control: no-store`, whatever the
   * upstream sent. With `true`, the upstream's `Cache-Control` is passed on but always as
   * `private` (`public` and `s-maxage` are dropped, so no shared cache keeps it); an answer
   * without one stays `no-store`.
   * @default false
   */
  cacheable?: boolean;
  /**
   * Call limits and quotas of this service alone, on top of `proxy.limits` (which count
   * every service's calls). See {@link ProxyOptions.limits}.
   * @default [] (only the global limits)
   * @example [{ per: 'user', max: 1000, windowMs: 86_400_000 }] // this paid API: 1,000 calls per user per day
   */
  limits?: ProxyCallLimit[];
  /** Allow `http://` to a loopback address (127.0.0.0/8, ::1, localhost). Never other hosts. @default false */
  allowHttpToLoopback?: boolean;
  /** Skip TLS certificate checks. Reported by the self-audit and refused in production. @default false */
  dangerouslyDisableTlsVerification?: boolean;
}

/** Options of the proxy. */
export interface ProxyOptions {
  services: Record<string, ProxyServiceOptions>;
  /**
   * Call limits and quotas over every service's calls: each `{ per, max, windowMs }`
   * allows `max` proxied calls per window to each session (`per: 'session'`) or to each
   * user over all their sessions (`per: 'user'`; a session without a user ID is counted on
   * its own). A call must pass every limit that applies (these and its service's `limits`);
   * a refused call answers 429 `KW_PROXY_RATE_LIMITED` with `Retry-After` and costs nothing
   * upstream. Counted in the session store (one round trip per call for all its limits,
   * shared by every instance on that store), or in `limitStorage`. If the counter cannot be
   * reached the call fails closed (503 `KW_STORE_UNAVAILABLE`). Without limits, no cost.
   * @default [] (no limit)
   * @example [{ per: 'session', max: 600, windowMs: 60_000 }, { per: 'user', max: 10_000, windowMs: 86_400_000 }]
   */
  limits?: ProxyCallLimit[];
  /**
   * Counts the limits in a `@nestjs/throttler` storage instead of the session store (for
   * an app that already shares one between its instances). Keyward calls its `increment`
   * once per limit, in parallel; a call refused by one limit still counts against the others.
   * @default undefined (the session store counts)
   * @example app.get(ThrottlerStorage)
   */
  limitStorage?: ProxyLimitStorage;
  /**
   * How long the writing of a proxied answer to a client may make no progress before the
   * connection is closed. A client that stops reading would otherwise keep the answer (up to
   * `maxResponseBytes`) and the call's concurrency slots for as long as its connection lives.
   * Progress is the client taking bytes (at most 64 KiB at a time).
   * @default 30_000
   * @example 10_000
   */
  writeTimeoutMs?: number;
  /**
   * Bytes of proxied answers one session may hold in this process, from the upstream's
   * answer until its client has taken the last byte. A call that would go past it fails with
   * 429 `KW_PROXY_SESSION_BUFFER_FULL` and `Retry-After` (at once, before the upstream, if
   * the session is already at the bound). At least every service's `maxResponseBytes`.
   * @default 32 MiB, or the largest maxResponseBytes if that is more
   * @example 64 * 1024 * 1024
   */
  maxBufferedBytesPerSession?: number;
  /**
   * Bytes of proxied answers this process may hold for all sessions together (the same
   * accounting). A call that would go past it fails with 503 `KW_PROXY_BUFFER_FULL` and
   * `Retry-After`. At least `maxBufferedBytesPerSession`.
   * @default 256 MiB, or maxBufferedBytesPerSession if that is more
   * @example 512 * 1024 * 1024
   */
  maxBufferedBytes?: number;
}

/** The proxy-wide bounds on answers waiting for their clients (one object, shared by every service). */
export interface ResolvedAnswerBounds {
  writeTimeoutMs: number;
  maxBufferedBytesPerSession: number;
  maxBufferedBytes: number;
}

export interface ResolvedProxyService {
  name: string;
  base: URL;
  credential: string;
  keyHeader: string;
  keyFormat: string;
  methods: ReadonlySet<string>;
  forwardHeaders: ReadonlySet<string>;
  responseHeaders: ReadonlySet<string>;
  timeoutMs: number;
  maxRequestBytes: number;
  maxResponseBytes: number;
  maxConcurrent: number;
  maxConcurrentPerSession: number;
  maxConcurrentPerUser: number;
  /** The proxy-wide `writeTimeoutMs` and buffer bounds (the same object on every service). */
  answers: ResolvedAnswerBounds;
  cacheable: boolean;
  plainHttp: boolean;
  insecureTls: boolean;
  /** The limits its calls must pass (`proxy.limits` first, then its own) and where they are counted. */
  limits: ResolvedProxyLimits;
}

const SERVICE_KEYS = [
  'baseUrl', 'credential', 'key', 'methods', 'forwardHeaders', 'responseHeaders', 'timeoutMs', 'maxRequestBytes',
  'maxResponseBytes', 'maxConcurrent', 'maxConcurrentPerSession', 'maxConcurrentPerUser', 'cacheable', 'limits', 'allowHttpToLoopback', 'dangerouslyDisableTlsVerification',
] as const;
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];
const SERVICE_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]{1,64}$/;

/** Request headers forwarded to every upstream. */
export const DEFAULT_FORWARD_HEADERS = ['accept', 'accept-language', 'content-type', 'content-language', 'if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since'];
/** Response headers returned from every upstream. */
export const DEFAULT_RESPONSE_HEADERS = ['content-type', 'content-language', 'content-disposition', 'cache-control', 'etag', 'last-modified', 'expires', 'retry-after', 'x-request-id'];
/** Never forwarded in either direction, whatever the configuration says. */
export const NEVER_FORWARDED = new Set([
  'cookie', 'set-cookie', 'set-cookie2', 'authorization', 'proxy-authorization', 'proxy-authenticate', 'x-csrf', 'host', 'forwarded',
  'connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'content-length', 'location', 'www-authenticate',
]);

/** True for hop-by-hop and proxy-identity headers (any `x-forwarded-*`, `x-real-ip`). */
export function isForbiddenHeader(name: string): boolean {
  const n = name.toLowerCase();
  return NEVER_FORWARDED.has(n) || n.startsWith('x-forwarded-') || n === 'x-real-ip' || n.startsWith('proxy-') || n.startsWith('sec-');
}

export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127(?:\.\d{1,3}){3}$/.test(h);
}

/**
 * `maxConcurrentPerSession`: a whole number from 1 to `maxConcurrent`; by default a quarter
 * of `maxConcurrent` (at least 1). Undefined after reporting a problem.
 */
function perSessionLimit(v: unknown, maxConcurrent: number | undefined, path: string, problems: string[]): number | undefined {
  if (v === undefined) return maxConcurrent === undefined ? undefined : Math.max(1, Math.floor(maxConcurrent / 4));
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 10_000) {
    problems.push(`${path}: expected a whole number of calls between 1 and ${maxConcurrent ?? 10_000}, got ${show(v)}. Leave it out for a quarter of maxConcurrent.`);
    return undefined;
  }
  if (maxConcurrent !== undefined && v > maxConcurrent) {
    problems.push(`${path}: ${v} is more than maxConcurrent (${maxConcurrent}); one session could then take every connection. Set it to at most ${maxConcurrent}, ideally a fraction of it.`);
    return undefined;
  }
  return v;
}

/**
 * `maxConcurrentPerUser`: a whole number from `maxConcurrentPerSession` to `maxConcurrent`;
 * by default twice the per-session share, at most `maxConcurrent`.
 */
function perUserLimit(v: unknown, maxConcurrent: number | undefined, perSession: number | undefined, path: string, problems: string[]): number | undefined {
  if (maxConcurrent === undefined || perSession === undefined) return undefined;
  if (v === undefined) return Math.min(maxConcurrent, 2 * perSession);
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > maxConcurrent) {
    problems.push(`${path}: expected a whole number of calls between ${perSession} (maxConcurrentPerSession) and ${maxConcurrent} (maxConcurrent), got ${show(v)}. Leave it out for twice maxConcurrentPerSession.`);
    return undefined;
  }
  if (v < perSession) {
    problems.push(`${path}: ${v} is less than maxConcurrentPerSession (${perSession}); a session could never use its own share. Raise it, or lower maxConcurrentPerSession to ${v} or less.`);
    return undefined;
  }
  return v;
}

const MIB = 1024 * 1024;

/** A byte count option: a whole number from `min` to `max`, or the default when left out. */
function byteCount(v: unknown, path: string, problems: string[], min: number, fallback: number): number | undefined {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > 2 ** 40) {
    problems.push(`${path}: expected a whole number of bytes between ${min} and ${2 ** 40}, got ${show(v)}.`);
    return undefined;
  }
  return v;
}

/**
 * `proxy.writeTimeoutMs`, `maxBufferedBytesPerSession` and `maxBufferedBytes`, checked
 * against each other and against the largest answer a service may pass on.
 */
function answerBounds(raw: Record<string, unknown>, largestAnswer: number, problems: string[]): ResolvedAnswerBounds {
  const writeTimeoutMs = raw.writeTimeoutMs === undefined ? 30_000 : duration(raw.writeTimeoutMs, 'proxy.writeTimeoutMs', problems, 100, 600_000);
  const perSession = byteCount(raw.maxBufferedBytesPerSession, 'proxy.maxBufferedBytesPerSession', problems, 1, Math.max(32 * MIB, largestAnswer));
  if (perSession !== undefined && raw.maxBufferedBytesPerSession !== undefined && perSession < largestAnswer) {
    problems.push(`proxy.maxBufferedBytesPerSession: ${perSession} is less than the largest maxResponseBytes (${largestAnswer}); answers that size could never be passed on. Raise it to at least ${largestAnswer}, or lower that service's maxResponseBytes.`);
  }
  const total = byteCount(raw.maxBufferedBytes, 'proxy.maxBufferedBytes', problems, 1, Math.max(256 * MIB, perSession ?? 0));
  if (total !== undefined && perSession !== undefined && raw.maxBufferedBytes !== undefined && total < perSession) {
    problems.push(`proxy.maxBufferedBytes: ${total} is less than maxBufferedBytesPerSession (${perSession}); one session could never use its own share. Raise it to at least ${perSession}.`);
  }
  return { writeTimeoutMs: writeTimeoutMs ?? 30_000, maxBufferedBytesPerSession: perSession ?? 32 * MIB, maxBufferedBytes: total ?? 256 * MIB };
}

/**
 * Validates the proxy options; reports every problem. `store` is the session store (to
 * check that it can count call limits), undefined if it was reported as wrong already.
 */
export function resolveProxyOptions(
  raw: unknown,
  credentials: ReadonlySet<string>,
  csrfHeader: string,
  problems: string[],
  store?: SessionStore,
): Map<string, ResolvedProxyService> {
  const out = new Map<string, ResolvedProxyService>();
  if (raw === undefined) return out;
  if (!isPlainObject(raw) || !isPlainObject(raw.services)) {
    problems.push(`proxy: expected { services: { <name>: { baseUrl, credential, ... } } }, got ${show(raw)}.`);
    return out;
  }
  unknownKeys(raw, ['services', 'limits', 'limitStorage', 'writeTimeoutMs', 'maxBufferedBytesPerSession', 'maxBufferedBytes'], 'proxy.', problems);
  const answers: ResolvedAnswerBounds = { writeTimeoutMs: 0, maxBufferedBytesPerSession: 0, maxBufferedBytes: 0 };
  const globalLimits = resolveLimitList(raw.limits, 'proxy.limits', null, problems);
  let anyLimit = globalLimits.length > 0;
  let largestAnswer = 0;
  for (const [name, svc] of Object.entries(raw.services)) {
    const at = `proxy.services.${name}`;
    if (!SERVICE_NAME.test(name)) problems.push(`${at}: service names are lower-case letters, digits, _ and - (they appear in URLs).`);
    if (!isPlainObject(svc)) {
      problems.push(`${at}: expected an object with baseUrl and credential.`);
      continue;
    }
    unknownKeys(svc, SERVICE_KEYS, `${at}.`, problems);
    let base: URL | undefined;
    try {
      base = new URL(String(svc.baseUrl));
    } catch {
      problems.push(`${at}.baseUrl: expected an absolute URL such as 'https://api.example.com/v1/', got ${show(svc.baseUrl)}.`);
    }
    const loopbackOk = svc.allowHttpToLoopback === true;
    if (base) {
      if (base.username || base.password) problems.push(`${at}.baseUrl: must not contain credentials; configure the key through a credential provider.`);
      if (base.search || base.hash) problems.push(`${at}.baseUrl: must not contain a query or fragment.`);
      if (base.protocol === 'http:' && !(loopbackOk && isLoopbackHost(base.hostname))) {
        problems.push(`${at}.baseUrl: ${show(base.href)} uses plain http: the key would cross the network in clear text. Use https://${loopbackOk ? '' : ', or set allowHttpToLoopback for a loopback upstream'}.`);
      } else if (base.protocol !== 'http:' && base.protocol !== 'https:') problems.push(`${at}.baseUrl: only https:// (or http:// to loopback) is supported.`);
    }
    const credential = typeof svc.credential === 'string' ? svc.credential : '';
    if (!credentials.has(credential)) {
      const hint = didYouMean(credential, [...credentials]);
      problems.push(`${at}.credential: ${show(svc.credential)} is not a configured credential.${hint ? ` Did you mean '${hint}'?` : ` Configured: ${[...credentials].join(', ') || 'none'}.`}`);
    }
    let keyHeader = 'authorization';
    let keyFormat = 'Bearer {key}';
    if (svc.key !== undefined) {
      const k = svc.key as Record<string, unknown>;
      if (!isPlainObject(k) || typeof k.header !== 'string' || !TOKEN.test(k.header.toLowerCase())) problems.push(`${at}.key.header: expected a header name such as 'x-api-key'.`);
      else keyHeader = k.header.toLowerCase();
      if (isPlainObject(k)) {
        unknownKeys(k, ['header', 'format'], `${at}.key.`, problems);
        if (k.format !== undefined) {
          if (typeof k.format !== 'string' || !k.format.includes('{key}') || /[\r\n\0]/.test(k.format)) problems.push(`${at}.key.format: expected a template containing {key}, e.g. 'Bearer {key}'.`);
          else keyFormat = k.format;
        } else keyFormat = keyHeader === 'authorization' ? 'Bearer {key}' : '{key}';
      }
    }
    const methods = new Set<string>();
    for (const m of (svc.methods as unknown[] | undefined) ?? ['GET', 'POST']) {
      const up = typeof m === 'string' ? m.toUpperCase() : '';
      if (!METHODS.includes(up)) problems.push(`${at}.methods: ${show(m)} is not one of ${METHODS.join(', ')}.`);
      else methods.add(up);
    }
    const headerSet = (list: unknown, defaults: string[], path: string): Set<string> => {
      const set = new Set(defaults);
      if (list === undefined) return set;
      if (!Array.isArray(list)) {
        problems.push(`${path}: expected an array of header names.`);
        return set;
      }
      for (const h of list) {
        const n = typeof h === 'string' ? h.toLowerCase() : '';
        if (!TOKEN.test(n)) problems.push(`${path}: ${show(h)} is not a header name.`);
        else if (isForbiddenHeader(n) || n === csrfHeader || n === keyHeader) problems.push(`${path}: '${n}' can never be forwarded (cookies, credentials, CSRF, proxy and hop-by-hop headers stay on their side).`);
        else set.add(n);
      }
      return set;
    };
    const timeoutMs = svc.timeoutMs === undefined ? 10_000 : duration(svc.timeoutMs, `${at}.timeoutMs`, problems, 1, 600_000);
    const maxReq = svc.maxRequestBytes === undefined ? 1_048_576 : duration(svc.maxRequestBytes, `${at}.maxRequestBytes`, problems, 0, 1 << 30);
    const maxRes = svc.maxResponseBytes === undefined ? 10_485_760 : duration(svc.maxResponseBytes, `${at}.maxResponseBytes`, problems, 1, 1 << 30);
    if (maxRes !== undefined) largestAnswer = Math.max(largestAnswer, maxRes);
    const maxConc = svc.maxConcurrent === undefined ? 64 : duration(svc.maxConcurrent, `${at}.maxConcurrent`, problems, 1, 10_000);
    let perSession = perSessionLimit(svc.maxConcurrentPerSession, maxConc, `${at}.maxConcurrentPerSession`, problems);
    // A user's share set below the default session share: the session share follows it down.
    if (svc.maxConcurrentPerSession === undefined && typeof svc.maxConcurrentPerUser === 'number' && perSession !== undefined && svc.maxConcurrentPerUser >= 1) perSession = Math.min(perSession, Math.floor(svc.maxConcurrentPerUser));
    const perUser = perUserLimit(svc.maxConcurrentPerUser, maxConc, perSession, `${at}.maxConcurrentPerUser`, problems);
    const ownLimits = resolveLimitList(svc.limits, `${at}.limits`, name, problems);
    anyLimit ||= ownLimits.length > 0;
    for (const flag of ['cacheable', 'allowHttpToLoopback', 'dangerouslyDisableTlsVerification'] as const) {
      if (svc[flag] !== undefined && typeof svc[flag] !== 'boolean') problems.push(`${at}.${flag}: expected a boolean, got ${show(svc[flag])}.`);
    }
    if (base && timeoutMs !== undefined && maxReq !== undefined && maxRes !== undefined && maxConc !== undefined && perSession !== undefined && perUser !== undefined) {
      out.set(name, {
        name,
        base,
        credential,
        keyHeader,
        keyFormat,
        methods,
        forwardHeaders: headerSet(svc.forwardHeaders, DEFAULT_FORWARD_HEADERS, `${at}.forwardHeaders`),
        responseHeaders: headerSet(svc.responseHeaders, DEFAULT_RESPONSE_HEADERS, `${at}.responseHeaders`),
        timeoutMs,
        maxRequestBytes: maxReq,
        maxResponseBytes: maxRes,
        maxConcurrent: maxConc,
        maxConcurrentPerSession: perSession,
        maxConcurrentPerUser: perUser,
        answers,
        cacheable: svc.cacheable === true,
        plainHttp: base.protocol === 'http:',
        insecureTls: svc.dangerouslyDisableTlsVerification === true,
        limits: { rules: [...globalLimits, ...ownLimits], storage: undefined },
      });
    }
  }
  Object.assign(answers, answerBounds(raw, largestAnswer, problems));
  const storage = resolveLimitStorage(raw.limitStorage, anyLimit, store, problems);
  for (const svc of out.values()) svc.limits = { rules: svc.limits.rules, storage };
  return out;
}
