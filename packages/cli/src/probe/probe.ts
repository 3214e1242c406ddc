import type { Finding, Severity } from '../finding.js';
import { findSecretsInText, isSecretName, maskSecret } from '../secrets/secret-detector.js';
import { WEAK_SECRETS } from '../secrets/weak-secrets.js';
import { decodeCookieValue, findWeakSigningSecret } from './cookie-decoder.js';
import { cookieLifetimeSeconds, isDeletion, parseSetCookie, type SetCookie } from './set-cookie.js';

/** Options of {@link probe}. */
export interface ProbeOptions {
  /** The app's URL. The probe talks to this origin only. */
  url: string;
  /** More paths (or same-origin URLs) to request with the session, e.g. `/api/me`. */
  paths?: readonly string[];
  /**
   * A login request that yields session cookies: sent as JSON before anything else, as the app's
   * own page would send it (`Origin` of the target, `Sec-Fetch-Site: same-origin`, the CSRF
   * header). When it fails (no answer, not 2xx, or no cookie set) the probe stops and says why in
   * {@link ProbeResult.loginFailure}: checks without the session would pass for a clean bill.
   */
  login?: { path: string; body: unknown; method?: 'POST' | 'PUT' };
  /**
   * The custom header an origin/CSRF guard asks of the app's own requests, sent with the login
   * and the session's requests (not with the foreign-origin CORS checks); `false` sends none.
   * @default { name: 'x-csrf', value: '1' } (what Keyward's guard asks by default)
   */
  csrfHeader?: { name: string; value: string } | false;
  /** Extra request headers sent with every request, e.g. `{ 'x-csrf': '1' }` for an origin guard. */
  headers?: Readonly<Record<string, string>>;
  /** Cookies to send from the start (`name=value`), e.g. a session copied from a browser. */
  cookies?: readonly string[];
  /** At most this many requests. @default 20 */
  maxRequests?: number;
  /** Whole probe time budget in ms. @default 20000 */
  timeoutMs?: number;
  /** Per-request time-out in ms. @default 5000 */
  requestTimeoutMs?: number;
  /** Candidate signing secrets tried offline. @default WEAK_SECRETS */
  weakSecrets?: readonly string[];
  /** Called before each request (for a progress line). */
  onRequest?: (method: string, url: string, n: number) => void;
}

/** What a probe found and how many requests it made. */
export interface ProbeResult {
  findings: Finding[];
  requests: number;
  durationMs: number;
  target: string;
  /** Checks that could not run (time-out, connection refused, budget spent). */
  notes: string[];
  /** Why the login failed, when it did; no check ran then. Never holds the login body. */
  loginFailure?: string;
}

/** The default login path: Keyward's (and its demo's) login route. */
export const DEFAULT_LOGIN_PATH = '/api/auth/login';

const FOREIGN_ORIGIN = 'https://keyward-probe.invalid';
const MAX_BODY_BYTES = 1_048_576;
const LONG_LIFETIME_S = 7 * 24 * 3600;
const MIN_HSTS_S = 180 * 24 * 3600;
const SENSITIVE_COOKIE_NAME = /(?:sess|sid|auth|token|jwt|key|secret|login|remember|credential|bearer|access|refresh|connect)/i;
const NON_SENSITIVE_COOKIE_NAME = /(?:csrf|xsrf|theme|lang|locale|consent|pref)/i;

class Budget {
  count = 0;
  constructor(
    readonly max: number,
    readonly deadline: number,
  ) {}
  take(): boolean {
    if (this.count >= this.max || Date.now() >= this.deadline) return false;
    this.count++;
    return true;
  }
}

interface Exchange {
  method: string;
  url: string;
  status: number;
  headers: Headers;
  body: string;
}

/**
 * Probes a running app over HTTP(S): optional login, then the URL and the given paths with the
 * session; checks Set-Cookie flags, decodes cookie values and looks for keys in them, tries
 * well-known signing secrets offline, checks CORS with a foreign and a `null` Origin, HSTS on
 * HTTPS, and keys in response bodies and headers. Talks only to the given origin, with a bounded
 * number of requests and time.
 *
 * @example
 * const { findings } = await probe({ url: 'http://127.0.0.1:3100', login: { path: '/api/login', body: { username: 'a' } }, paths: ['/api/me'] });
 */
export async function probe(options: ProbeOptions): Promise<ProbeResult> {
  const started = Date.now();
  let base: URL;
  try {
    base = new URL(options.url);
  } catch {
    throw new TypeError(`keyward probe: not a URL: ${JSON.stringify(options.url)}`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new TypeError(`keyward probe: only http and https URLs are supported, got ${base.protocol}`);
  const sameOrigin = (p: string): URL => {
    const u = new URL(p, base);
    if (u.origin !== base.origin) throw new TypeError(`keyward probe: ${p} is not on ${base.origin}; the probe only talks to the URL given`);
    return u;
  };
  const targets = [base, ...(options.paths ?? []).map(sameOrigin)];
  const loginUrl = options.login ? sameOrigin(options.login.path) : undefined;
  const budget = new Budget(options.maxRequests ?? 20, started + (options.timeoutMs ?? 20_000));
  const requestTimeout = options.requestTimeoutMs ?? 5_000;
  const jar = new Map<string, string>();
  for (const c of options.cookies ?? []) {
    const i = c.indexOf('=');
    if (i > 0) jar.set(c.slice(0, i).trim(), c.slice(i + 1).trim());
  }
  const findings: Finding[] = [];
  const notes: string[] = [];
  const seenCookies = new Map<string, { cookie: SetCookie; url: string }>();
  const reported = new Set<string>();
  const add = (f: Finding): void => {
    const key = `${f.ruleId}:${f.message}`;
    if (reported.has(key)) return;
    reported.add(key);
    findings.push(f);
  };

  const send = async (method: string, url: URL, init: { headers?: Record<string, string>; body?: string } = {}): Promise<Exchange | undefined> => {
    if (!budget.take()) {
      const note = `request budget spent (${budget.max} requests or ${options.timeoutMs ?? 20_000} ms); later checks skipped`;
      if (!notes.includes(note)) notes.push(note);
      return undefined;
    }
    options.onRequest?.(method, url.href, budget.count);
    const headers: Record<string, string> = { 'user-agent': 'keyward-probe', accept: 'application/json, text/html;q=0.9, */*;q=0.5', ...options.headers, ...init.headers };
    if (jar.size > 0) headers['cookie'] = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    try {
      const res = await fetch(url, {
        method,
        headers,
        redirect: 'manual',
        signal: AbortSignal.timeout(Math.max(1, Math.min(requestTimeout, budget.deadline - Date.now()))),
        ...(init.body !== undefined ? { body: init.body } : {}),
      });
      const body = await readLimited(res);
      for (const raw of res.headers.getSetCookie()) {
        const c = parseSetCookie(raw);
        if (!c) continue;
        if (isDeletion(c)) jar.delete(c.name);
        else {
          jar.set(c.name, c.value);
          seenCookies.set(c.name, { cookie: c, url: `${method} ${url.href}` });
        }
      }
      return { method, url: url.href, status: res.status, headers: res.headers, body };
    } catch (err) {
      const reason = err instanceof Error && err.name === 'TimeoutError' ? 'timed out' : err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : 'failed';
      notes.push(`${method} ${url.href} ${reason}`);
      return undefined;
    }
  };

  // the app's own page: same origin, and the custom header an origin/CSRF guard asks for
  const csrf = options.csrfHeader === undefined ? { name: 'x-csrf', value: '1' } : options.csrfHeader;
  const ownPage: Record<string, string> = { 'sec-fetch-site': 'same-origin', ...(csrf ? { [csrf.name.toLowerCase()]: csrf.value } : {}) };
  const exchanges: Exchange[] = [];
  if (loginUrl && options.login) {
    const method = options.login.method ?? 'POST';
    const ex = await send(method, loginUrl, { headers: { ...ownPage, origin: base.origin, 'content-type': 'application/json' }, body: JSON.stringify(options.login.body) });
    const failure = loginFailure(method, loginUrl, ex, notes);
    if (failure) return { findings, requests: budget.count, durationMs: Date.now() - started, target: base.href, notes, loginFailure: failure };
    exchanges.push(ex!);
  }
  for (const t of targets) {
    const ex = await send('GET', t, { headers: ownPage });
    if (ex) exchanges.push(ex);
  }
  if (exchanges.length === 0) {
    return { findings, requests: budget.count, durationMs: Date.now() - started, target: base.href, notes: notes.length > 0 ? notes : ['no response from the target'] };
  }

  // CORS: a foreign origin and the `null` origin, with the session cookie
  const corsTarget = targets.find((t) => exchanges.some((e) => e.url === t.href && e.status < 400)) ?? base;
  for (const origin of [FOREIGN_ORIGIN, 'null']) {
    const ex = await send('GET', corsTarget, { headers: { origin } });
    if (!ex) continue;
    const acao = ex.headers.get('access-control-allow-origin');
    const acac = ex.headers.get('access-control-allow-credentials');
    if (acao === origin && acac?.toLowerCase() === 'true') {
      add({
        ruleId: 'KW005',
        severity: 'high',
        message: `CORS allows ${origin === 'null' ? 'the `null` origin (sandboxed iframes, file: pages)' : `a foreign origin (${origin})`} with credentials: Access-Control-Allow-Origin echoes it and Access-Control-Allow-Credentials is true`,
        url: `GET ${ex.url}`,
      });
    }
  }

  // HSTS
  if (base.protocol === 'https:') {
    const first = exchanges[0]!;
    const hsts = first.headers.get('strict-transport-security');
    const maxAge = hsts ? /max-age\s*=\s*"?(\d+)/i.exec(hsts)?.[1] : undefined;
    if (!hsts) add({ ruleId: 'KW006', severity: 'medium', message: 'HTTPS response without a Strict-Transport-Security header', url: `${first.method} ${first.url}` });
    else if (maxAge === undefined || Number(maxAge) < MIN_HSTS_S) {
      add({ ruleId: 'KW006', severity: 'low', message: `Strict-Transport-Security max-age is ${maxAge ?? 'missing'}; use at least 15552000 (180 days)`, url: `${first.method} ${first.url}` });
    }
  }

  // cookies
  const candidates = options.weakSecrets ?? WEAK_SECRETS;
  for (const { cookie, url } of seenCookies.values()) {
    if (cookie.name.endsWith('.sig')) continue;
    checkCookie(cookie, url, base.protocol === 'https:', jar.get(`${cookie.name}.sig`) ?? seenCookies.get(`${cookie.name}.sig`)?.cookie.value, candidates, add);
  }
  // cookies given on the command line are decoded too (they may be a copied session)
  for (const c of options.cookies ?? []) {
    const i = c.indexOf('=');
    if (i <= 0) continue;
    const name = c.slice(0, i).trim();
    if (seenCookies.has(name) || name.endsWith('.sig')) continue;
    checkCookieValue(name, c.slice(i + 1).trim(), 'cookie given with --cookie', jar.get(`${name}.sig`), candidates, add);
  }

  // keys in response bodies and headers
  for (const ex of exchanges) {
    for (const [h, v] of ex.headers) {
      if (h === 'set-cookie') continue;
      for (const s of findSecretsInText(v)) {
        add({ ruleId: 'KW004', severity: 'high', message: `Response header \`${h}\` contains a ${s.label}`, url: `${ex.method} ${ex.url}`, evidence: maskSecret(s.value) });
      }
      if (isSecretName(h) && v.length >= 8) add({ ruleId: 'KW004', severity: 'high', message: `Response header \`${h}\` carries a key`, url: `${ex.method} ${ex.url}`, evidence: maskSecret(v) });
    }
    for (const s of findSecretsInText(ex.body)) {
      add({ ruleId: 'KW004', severity: 'high', message: `Response body contains a ${s.label}`, url: `${ex.method} ${ex.url}`, evidence: maskSecret(s.value) });
    }
  }
  return { findings, requests: budget.count, durationMs: Date.now() - started, target: base.href, notes };
}

/** Why a login exchange failed, or undefined when it answered 2xx and set a cookie. Names the app's error code, never its body. */
function loginFailure(method: string, url: URL, ex: Exchange | undefined, notes: readonly string[]): string | undefined {
  const what = `${method} ${url.pathname}`;
  if (!ex) return `${what} got no answer (${notes[notes.length - 1] ?? 'no response'})`;
  if (ex.status < 200 || ex.status > 299) {
    let code = '';
    try {
      const c = (JSON.parse(ex.body) as { code?: unknown }).code;
      if (typeof c === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(c)) code = ` ${c}`;
    } catch {
      // not JSON
    }
    const hint =
      ex.status === 401
        ? 'check the user name and password'
        : ex.status === 403
          ? "the app's origin/CSRF guard refused it: give the header it asks for with --csrf-header 'Name: value'"
          : ex.status === 404 || ex.status === 405
            ? 'is --login-path the login route?'
            : ex.status === 429
              ? 'too many failed logins: wait for the Retry-After time'
              : ex.status >= 300 && ex.status < 400
                ? 'the login redirected; give the JSON login route'
                : 'see the app log';
    return `${what} answered ${ex.status}${code}: ${hint}`;
  }
  const setCookie = ex.headers.getSetCookie().some((raw) => {
    const c = parseSetCookie(raw);
    return c !== undefined && !isDeletion(c);
  });
  if (!setCookie) return `${what} answered ${ex.status} but set no cookie, so there is no session to probe with; is --login-path the login route?`;
  return undefined;
}

async function readLimited(res: Response): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
    if (size >= MAX_BODY_BYTES) {
      await reader.cancel();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES).toString('utf8');
}

function checkCookie(c: SetCookie, url: string, https: boolean, sig: string | undefined, candidates: readonly string[], add: (f: Finding) => void): void {
  const secretFound = checkCookieValue(c.name, c.value, url, sig, candidates, add);
  const sensitive = secretFound || sig !== undefined || (SENSITIVE_COOKIE_NAME.test(c.name) && !NON_SENSITIVE_COOKIE_NAME.test(c.name));
  const a = c.attributes;
  const flag = (severity: Severity, message: string): void => add({ ruleId: 'KW002', severity, message: `Cookie \`${c.name}\`: ${message}`, url });
  if (c.name.startsWith('__Host-')) {
    if (!a.has('secure') || a.get('path') !== '/' || a.has('domain')) flag('medium', '`__Host-` prefix requires Secure, Path=/ and no Domain; browsers reject it otherwise');
  } else if (c.name.startsWith('__Secure-') && !a.has('secure')) flag('medium', '`__Secure-` prefix requires Secure; browsers reject it otherwise');
  if (!sensitive) return;
  if (!a.has('httponly')) flag('medium', 'no HttpOnly: any script in the page (XSS) can read it');
  if (!a.has('secure')) {
    if (https) flag('medium', 'no Secure: it would be sent over plain HTTP');
    else flag('info', 'no Secure (the app was probed over plain HTTP, where that is expected; in production over HTTPS the cookie must be Secure)');
  }
  const sameSite = a.get('samesite');
  if (sameSite === undefined) flag('low', 'no SameSite attribute');
  else if (typeof sameSite === 'string' && sameSite.toLowerCase() === 'none') flag('medium', `SameSite=None: other sites can send it${a.has('secure') ? '' : ' (and without Secure, browsers drop it)'}`);
  const life = cookieLifetimeSeconds(c);
  if (life !== undefined && life > LONG_LIFETIME_S) flag('low', `lives ${Math.round(life / 86_400)} days; keep session cookies short`);
  const domain = a.get('domain');
  if (typeof domain === 'string' && domain.length > 0) flag('low', `Domain=${domain} shares it with every subdomain; omit Domain (host-only)`);
}

/** Decodes one cookie value and reports keys found in it and weak signing secrets. Returns true when a key was found. */
function checkCookieValue(name: string, value: string, url: string, sig: string | undefined, candidates: readonly string[], add: (f: Finding) => void): boolean {
  let found = false;
  for (const d of decodeCookieValue(value)) {
    for (const s of findSecretsInText(d.text)) {
      found = true;
      add({
        ruleId: 'KW001',
        severity: 'high',
        message: `Cookie \`${name}\` carries a ${s.label} (${d.how}); signed is not encrypted: anyone holding the cookie reads it`,
        url,
        evidence: maskSecret(s.value),
      });
    }
  }
  if (!found && isSecretName(name) && value.length >= 8) {
    found = true;
    add({ ruleId: 'KW001', severity: 'high', message: `Cookie \`${name}\` is named like a key and carries a value; keys must stay on the server`, url, evidence: maskSecret(value) });
  }
  const cracked = findWeakSigningSecret(name, value, sig, candidates);
  if (cracked) {
    add({
      ruleId: 'KW003',
      severity: 'high',
      message: `Cookie \`${name}\` is signed (${cracked.scheme}) with a well-known weak secret: anyone can forge sessions`,
      url,
      evidence: maskSecret(cracked.secret),
    });
  }
  return found;
}
