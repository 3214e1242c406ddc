import { resolveRedactionOptions } from '../redaction/redaction-options.js';
import { KeywardConfigError, KeywardErrorCode } from '../keyward.errors.js';
import type { SessionStore } from '../stores/session-store.interface.js';
import { systemClock, type Clock } from '../util/clock.js';
import type { KeywardModuleOptions, ResolvedKeywardOptions, ResolvedSessionOptions } from './keyward-options.interface.js';
import { duration, isPlainObject, show, showType, unknownKeys } from '../util/option-checks.js';
import { productionFindings, secretFindings, type AuditView } from './production-audit.js';
import { KeyRing, parseVaultKeys } from '../vault/key-ring.js';
import type { CredentialProvider } from '../vault/credential-provider.interface.js';
import { resolveCrossOrigin } from '../origin/origin-options.js';
import { resolveProxyOptions } from '../proxy/proxy-options.js';
import { resolveTransport } from '../transport/transport-policy.js';
import { resolveLifecycleOptions } from '../session/lifecycle-options.js';
import { resolveOAuthOptions } from '../oauth/oauth-options.js';
import { buildConnections } from '../oauth/connections.js';
import type { Connection } from '../oauth/connection.service.js';
import { OIDC_CREDENTIAL, resolveOidcOptions } from '../oidc/oidc-options.js';
import { buildOidcRuntime, type OidcRuntime } from '../oidc/oidc-runtime.js';

const TOP_KEYS = ['production', 'session', 'demoUsers', 'vault', 'credentials', 'origin', 'cors', 'transport', 'proxy', 'logRequests', 'redaction', 'oauth', 'oidc'] as const;
const CREDENTIAL_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const SESSION_KEYS = [
  'secrets', 'store', 'cookie', 'idleTimeoutMs', 'absoluteTimeoutMs', 'touchIntervalMs',
  'requireByDefault', 'sweepIntervalMs', 'clock',
  // Session lifecycle (issue 17), validated by resolveLifecycleOptions.
  'rotateEveryMs', 'rotateGraceMs', 'maxPerUser',
] as const;
const COOKIE_KEYS = ['name', 'secure', 'sameSite', 'path', 'domain'] as const;
const SAME_SITE = ['strict', 'lax', 'none'] as const;
// Every method of the SessionStore interface: a store missing one would fail later, at
// the first request or sweep that needs it, instead of at startup.
const STORE_METHODS = [
  'create', 'load', 'patch', 'setIfAbsent', 'take', 'listByUser', 'expiredKeys', 'getUserEntries', 'setUserEntry',
  'setUserEntryIfAbsent', 'deleteUserEntry', 'scanSessionKeys', 'scanUserIds', 'acquireLease', 'ping', 'close',
] as const;
/** Options people bring from express-session / cookie-session, and where they live in Keyward. */
const TOP_HINTS: Record<string, string> = {
  secret: 'Did you mean `session.secrets` (a list, newest first)?',
  secrets: 'Did you mean `session.secrets`?',
  store: 'Did you mean `session.store`?',
  cookie: 'Did you mean `session.cookie`?',
  name: 'The cookie name is `session.cookie.name`.',
  resave: 'Not needed: Keyward writes only the fields you change, never the whole session.',
  saveuninitialized: 'Not needed: Keyward never creates a session or a cookie for anonymous requests.',
  rolling: 'Not needed: the idle expiry slides by itself, at most once per `session.touchIntervalMs`.',
};
const SESSION_HINTS: Record<string, string> = {
  secret: 'Did you mean `session.secrets` (a list, newest first)?',
  maxage: 'The cookie lives as long as the idle timeout: set `session.idleTimeoutMs`.',
  expires: 'The cookie lives as long as the idle timeout: set `session.idleTimeoutMs`.',
  secure: 'Did you mean `session.cookie.secure`?',
  samesite: 'Did you mean `session.cookie.sameSite`?',
  httponly: 'The session cookie is always HttpOnly; remove this option.',
  path: 'Did you mean `session.cookie.path`?',
  domain: 'Did you mean `session.cookie.domain`?',
  name: 'Did you mean `session.cookie.name`?',
  resave: 'Not needed: Keyward writes only the fields you change, never the whole session.',
  saveuninitialized: 'Not needed: Keyward never creates a session or a cookie for anonymous requests.',
  rolling: 'Not needed: the idle expiry slides by itself, at most once per `session.touchIntervalMs`.',
};
const COOKIE_HINTS: Record<string, string> = {
  maxage: 'The cookie\'s Max-Age is the idle timeout: set `session.idleTimeoutMs` (milliseconds) instead.',
  expires: 'The cookie\'s Max-Age is the idle timeout: set `session.idleTimeoutMs` (milliseconds) instead.',
  httponly: 'The session cookie is always HttpOnly; remove this option.',
  signed: 'The session cookie is always signed with `session.secrets`; remove this option.',
  priority: 'Not supported; remove this option.',
  partitioned: 'Not supported for the session cookie; remove this option.',
};
const DAY = 86_400_000;
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}$/;
const COOKIE_PATH = /^\/[\x21-\x3a\x3c-\x7e]*$/; // visible ASCII except ';'
const COOKIE_DOMAIN = /^\.?[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * Validates module options once, at startup, and fills in defaults. Reports every
 * problem in one {@link KeywardConfigError}. In production, also runs the self-audit
 * ({@link auditProduction}) and refuses insecure settings.
 *
 * @example
 * const resolved = resolveKeywardOptions(options); // throws KeywardConfigError listing every problem
 */
export function resolveKeywardOptions(raw: KeywardModuleOptions | unknown, env: NodeJS.ProcessEnv = process.env): ResolvedKeywardOptions {
  const problems: string[] = [];
  if (!isPlainObject(raw)) throw new KeywardConfigError([`options: expected an object with a \`session\` property, got ${showType(raw)}.`]);
  unknownKeys(raw, TOP_KEYS, '', problems, TOP_HINTS);

  const envProduction = env.NODE_ENV === 'production';
  let production = envProduction;
  if (raw.production !== undefined) {
    if (typeof raw.production !== 'boolean') problems.push(`production: expected a boolean, got ${show(raw.production)}.`);
    else if (envProduction && !raw.production) {
      problems.push('production: cannot be false while NODE_ENV=production. Remove the option or fix NODE_ENV.');
    } else production = raw.production;
  }
  if (raw.demoUsers !== undefined && typeof raw.demoUsers !== 'boolean') problems.push(`demoUsers: expected a boolean, got ${show(raw.demoUsers)}.`);
  if (raw.logRequests !== undefined && typeof raw.logRequests !== 'boolean' && raw.logRequests !== 'proxied') {
    problems.push(`logRequests: expected 'proxied' (one line per proxied call, the default), true (every request) or false (none), got ${show(raw.logRequests)}.`);
  }

  // What the self-audit judges, filled in with every part that is valid, so production
  // findings are reported together with the other problems, in one error.
  const view: AuditView = { demoUsers: raw.demoUsers === true };
  const session = resolveSession(raw.session, production, problems, view);
  const { keyRing, credentials } = resolveVault(raw, problems, view);
  // One list of cross-origin front ends: cors.origins (origin.allowedOrigins is its deprecated alias).
  const deprecations: string[] = [];
  const { origin, cors } = resolveCrossOrigin(raw.origin, raw.cors, problems, deprecations);
  // transport/ validates its own section (not an object, unknown keys, types, the hsts sub-object), as origin/ and proxy/ do theirs.
  const transport = resolveTransport(raw.transport, production, problems);
  view.requireHttps = transport.requireHttps;
  // Connected accounts: each connection is also a credential the proxy can name.
  const oauth = resolveOAuthOptions(raw.oauth, production, problems);
  const connections = view.store ? buildConnections(oauth, view.store) : new Map<string, Connection>();
  for (const [name, c] of connections) {
    if (credentials.has(name)) problems.push(`oauth.connections.${name}: a credential of the same name is configured in \`credentials\`; give the connection another name.`);
    else credentials.set(name, c.provider);
  }
  if (oauth.connections.size > 0 && raw.vault === undefined) problems.push('vault: required when oauth.connections are configured (their tokens are sealed in it). Set vault.keys from KEYWARD_VAULT_KEYS.');
  // Sign-in with OpenID Connect: its tokens are the `oidc` credential.
  const oidc = resolveOidcOptions(raw.oidc, production, problems);
  let oidcRuntime: OidcRuntime | undefined;
  if (oidc && view.store) {
    if (credentials.has(OIDC_CREDENTIAL)) problems.push(`oidc: the sign-in's tokens are the credential "${OIDC_CREDENTIAL}", and a credential or connection of that name is configured; rename it.`);
    else credentials.set(OIDC_CREDENTIAL, (oidcRuntime = buildOidcRuntime(oidc, view.store)).provider);
  }
  if (raw.oidc !== undefined && raw.vault === undefined) problems.push('vault: required with oidc (the sign-in\'s tokens are sealed in it). Set vault.keys from KEYWARD_VAULT_KEYS.');
  const proxy = resolveProxyOptions(raw.proxy, new Set(credentials.keys()), origin.csrfHeader.name, problems, view.store);
  view.proxy = proxy;
  const redaction = resolveRedactionOptions(raw.redaction, problems);

  const findings = production ? productionFindings(view) : [];
  if (problems.length > 0 || findings.length > 0 || !session) {
    // Only production refusals: the "refuses to start in production" error; otherwise the
    // options are invalid, and the production findings are listed after the other problems.
    throw new KeywardConfigError([...problems, ...findings], problems.length > 0 || !session ? KeywardErrorCode.Config : KeywardErrorCode.InsecureProduction);
  }
  return {
    production,
    session,
    demoUsers: raw.demoUsers === true,
    keyRing,
    credentials,
    origin,
    cors,
    transport,
    proxy,
    logRequests: raw.logRequests === true ? 'all' : raw.logRequests === false ? 'none' : 'proxied',
    redaction,
    oauth: { ...oauth, runtime: connections },
    oidc: oidc && oidcRuntime ? { ...oidc, runtime: oidcRuntime } : null,
    warnings: [...deprecations, ...(production ? [] : secretFindings(view).map((w) => `${w} (Production refuses it; development only warns.)`))],
  };
}

function resolveSession(raw: unknown, production: boolean, problems: string[], view: AuditView): ResolvedSessionOptions | undefined {
  if (!isPlainObject(raw)) {
    problems.push(`session: expected an object with \`secrets\` and \`store\`, got ${showType(raw)}.`);
    return undefined;
  }
  unknownKeys(raw, SESSION_KEYS, 'session.', problems, SESSION_HINTS);

  const secrets = raw.secrets;
  if (!Array.isArray(secrets) || secrets.length === 0) {
    problems.push('session.secrets: expected a non-empty array of strings, newest first (e.g. from KEYWARD_SESSION_SECRETS).');
  } else {
    secrets.forEach((s, i) => {
      if (typeof s !== 'string' || s.length === 0) problems.push(`session.secrets[${i}]: expected a non-empty string, got ${typeof s === 'string' ? 'an empty string' : typeof s}.`);
    });
    if (new Set(secrets).size !== secrets.length) problems.push('session.secrets: contains the same secret twice; list each once, newest first.');
    view.secrets = secrets;
  }

  const store = raw.store as SessionStore | undefined;
  const storeProblem = checkStore(raw.store);
  if (storeProblem) problems.push(storeProblem);
  else view.store = store;

  const cookieRaw = raw.cookie ?? {};
  if (!isPlainObject(cookieRaw)) problems.push(`session.cookie: expected an object, got ${showType(cookieRaw)}.`);
  const c = isPlainObject(cookieRaw) ? cookieRaw : {};
  unknownKeys(c, COOKIE_KEYS, 'session.cookie.', problems, COOKIE_HINTS);

  let secure = production;
  if (c.secure !== undefined) {
    if (typeof c.secure !== 'boolean') problems.push(`session.cookie.secure: expected a boolean, got ${show(c.secure)}.`);
    else secure = c.secure;
  }
  let sameSite = 'strict' as 'strict' | 'lax' | 'none';
  if (c.sameSite !== undefined) {
    if (typeof c.sameSite === 'string' && (SAME_SITE as readonly string[]).includes(c.sameSite)) sameSite = c.sameSite as typeof sameSite;
    else {
      const lower = typeof c.sameSite === 'string' ? c.sameSite.toLowerCase() : '';
      const hint = (SAME_SITE as readonly string[]).includes(lower) ? ` Did you mean '${lower}'?` : '';
      problems.push(`session.cookie.sameSite: expected 'strict', 'lax' or 'none', got ${show(c.sameSite)}.${hint}`);
    }
  }
  if (sameSite === 'none' && !secure) problems.push("session.cookie.sameSite: 'none' requires secure: true (browsers drop such cookies otherwise).");

  let path = '/';
  if (c.path !== undefined) {
    if (typeof c.path !== 'string' || !COOKIE_PATH.test(c.path)) problems.push(`session.cookie.path: expected a path starting with '/', without ';' or control characters, got ${show(c.path)}.`);
    else path = c.path;
  }
  let domain: string | undefined;
  if (c.domain !== undefined) {
    if (typeof c.domain !== 'string' || !COOKIE_DOMAIN.test(c.domain)) problems.push(`session.cookie.domain: expected a host name such as 'example.com', got ${show(c.domain)}.`);
    else domain = c.domain;
  }
  let name = secure ? (path === '/' && !domain ? '__Host-sid' : '__Secure-sid') : 'sid';
  if (c.name !== undefined) {
    if (typeof c.name !== 'string' || !COOKIE_NAME.test(c.name)) problems.push(`session.cookie.name: expected a cookie token of 1-64 characters (letters, digits, !#$%&'*+-.^_\`|~), got ${show(c.name)}.`);
    else name = c.name;
  }
  const lowerName = name.toLowerCase();
  if (lowerName.startsWith('__host-')) {
    if (!secure) problems.push(`session.cookie.name: ${show(name)} uses the __Host- prefix, which requires secure: true. Use 'sid' for plain-HTTP development.`);
    if (path !== '/') problems.push(`session.cookie.path: ${show(path)} is not compatible with the __Host- prefix of ${show(name)}, which requires Path=/. Use name '__Secure-sid' for a narrower path, or path '/'.`);
    if (domain) problems.push(`session.cookie.domain: the __Host- prefix of ${show(name)} forbids a Domain attribute. Remove domain, or use the __Secure- prefix.`);
  } else if (lowerName.startsWith('__secure-') && !secure) {
    problems.push(`session.cookie.name: ${show(name)} uses the __Secure- prefix, which requires secure: true.`);
  }

  const idle = raw.idleTimeoutMs === undefined ? 30 * 60_000 : duration(raw.idleTimeoutMs, 'session.idleTimeoutMs', problems, 1000, 30 * DAY);
  let absolute: number | null | undefined = 12 * 3_600_000;
  if (raw.absoluteTimeoutMs === null) absolute = null;
  else if (raw.absoluteTimeoutMs !== undefined) absolute = duration(raw.absoluteTimeoutMs, 'session.absoluteTimeoutMs', problems, 1000, 400 * DAY);
  const touch = raw.touchIntervalMs === undefined ? 60_000 : duration(raw.touchIntervalMs, 'session.touchIntervalMs', problems, 0, 30 * DAY);
  if (idle !== undefined && typeof absolute === 'number' && idle > absolute) {
    problems.push(`session.idleTimeoutMs: ${idle} is longer than session.absoluteTimeoutMs (${absolute}); the idle timeout must not exceed the absolute one.`);
  }
  const effectiveTouch = idle !== undefined && touch !== undefined && raw.touchIntervalMs === undefined ? Math.min(touch, Math.floor(idle / 10)) : touch;
  if (idle !== undefined && effectiveTouch !== undefined && effectiveTouch >= idle) {
    problems.push(`session.touchIntervalMs: ${effectiveTouch} must be shorter than session.idleTimeoutMs (${idle}), or active sessions would expire.`);
  }
  if (idle !== undefined) view.idleTimeoutMs = idle;
  if (absolute !== undefined) view.absoluteTimeoutMs = absolute;
  view.cookie = { name, secure, sameSite };
  const sweep = raw.sweepIntervalMs === undefined ? 60_000 : duration(raw.sweepIntervalMs, 'session.sweepIntervalMs', problems, 0, DAY);
  if (raw.requireByDefault !== undefined && typeof raw.requireByDefault !== 'boolean') {
    problems.push(`session.requireByDefault: expected a boolean, got ${show(raw.requireByDefault)}.`);
  }
  const clock = raw.clock as Clock | undefined;
  if (clock !== undefined && (typeof clock !== 'object' || clock === null || typeof clock.now !== 'function')) {
    problems.push('session.clock: expected an object with a now() method returning milliseconds.');
  }
  const lifecycle = resolveLifecycleOptions(raw, storeProblem ? undefined : store, problems);
  if (idle === undefined || absolute === undefined || effectiveTouch === undefined || sweep === undefined || !Array.isArray(secrets) || !lifecycle) return undefined;
  return {
    ...lifecycle,
    secrets: secrets as string[],
    store: store as SessionStore,
    cookie: { name, secure, sameSite, path, domain },
    idleTimeoutMs: idle,
    absoluteTimeoutMs: absolute,
    touchIntervalMs: effectiveTouch,
    requireByDefault: raw.requireByDefault !== false,
    sweepIntervalMs: sweep,
    clock: clock ?? systemClock,
  };
}

const STORE_USE = 'Use `new RedisStore({ url })`, `new SqliteStore({ file })`, or `new MemoryStore()` in tests.';
/** Options objects people pass where the store itself belongs, and the store they meant. */
const STORE_OPTION_HINTS: ReadonlyArray<[string, string]> = [
  ['url', 'new RedisStore({ url })'],
  ['cluster', 'new RedisStore({ cluster })'],
  ['client', 'new RedisStore({ client })'],
  ['file', 'new SqliteStore({ file })'],
];

/** What is wrong with `session.store`, or null. Never shows its content (a Redis URL may hold a password). */
function checkStore(store: unknown): string | null {
  if (store === undefined || store === null) return `session.store: required. ${STORE_USE}`;
  if (typeof store === 'function') {
    return `session.store: expected a SessionStore instance, got a class or function${store.name ? ` (${store.name})` : ''}. Construct it with \`new\`: ${STORE_USE.slice(4)}`;
  }
  if (typeof store !== 'object') return `session.store: expected a SessionStore, got ${showType(store)}. ${STORE_USE}`;
  const record = store as Record<string, unknown>;
  const missing = STORE_METHODS.filter((m) => typeof record[m] !== 'function');
  if (missing.length === 0) return null;
  if (missing.length === STORE_METHODS.length) {
    const meant = STORE_OPTION_HINTS.find(([key]) => Object.hasOwn(record, key));
    return meant
      ? `session.store: expected a SessionStore, got its options. Did you mean \`${meant[1]}\`?`
      : `session.store: expected a SessionStore, got an object without any SessionStore method. ${STORE_USE}`;
  }
  return `session.store: does not implement SessionStore (missing ${missing.join(', ')}).`;
}

/** Problems a credential provider reports about its own configuration (optional `problems()`). */
function providerProblems(provider: CredentialProvider): readonly string[] {
  const problems = (provider as { problems?: unknown }).problems;
  if (typeof problems !== 'function') return [];
  try {
    const out: unknown = problems.call(provider);
    return Array.isArray(out) ? out.filter((p): p is string => typeof p === 'string') : [];
  } catch {
    return ['its problems() check threw; fix the provider.'];
  }
}

function resolveVault(raw: Record<string, unknown>, problems: string[], view: AuditView): { keyRing: KeyRing | null; credentials: Map<string, CredentialProvider> } {
  const credentials = new Map<string, CredentialProvider>();
  let keyRing: KeyRing | null = null;
  if (raw.vault !== undefined) {
    // Never echo a string here: `vault: process.env.KEYWARD_VAULT_KEYS` would print a key.
    if (!isPlainObject(raw.vault)) problems.push(`vault: expected an object { keys }, got ${showType(raw.vault)}.`);
    else {
      unknownKeys(raw.vault, ['keys'], 'vault.', problems);
      const keys = parseVaultKeys(raw.vault.keys as string[], problems);
      view.vaultKeys = Array.isArray(raw.vault.keys) ? raw.vault.keys : [];
      if (keys.size > 0 && keys.size === (raw.vault.keys as string[]).length) keyRing = new KeyRing(keys);
    }
  }
  if (raw.credentials !== undefined) {
    if (!isPlainObject(raw.credentials)) problems.push(`credentials: expected an object of named providers, got ${show(raw.credentials)}.`);
    else {
      for (const [name, provider] of Object.entries(raw.credentials)) {
        if (!CREDENTIAL_NAME.test(name)) problems.push(`credentials.${name}: names are 1-64 letters, digits, _ . or -.`);
        else if (typeof provider !== 'object' || provider === null || typeof (provider as CredentialProvider).acquire !== 'function') {
          problems.push(`credentials.${name}: expected a CredentialProvider (ServerKeyProvider, MintedKeyProvider, UserKeyProvider, or your own with acquire()).`);
        } else {
          credentials.set(name, provider as CredentialProvider);
          for (const p of providerProblems(provider as CredentialProvider)) problems.push(`credentials.${name}: ${p}`);
        }
      }
      if (credentials.size > 0 && raw.vault === undefined) problems.push('vault: required when credentials are configured. Set vault.keys from KEYWARD_VAULT_KEYS.');
    }
  }
  return { keyRing, credentials };
}
