import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { demoOAuthConfig, type DemoOAuthConnection } from './demo-oauth-config.js';
import { demoOidcConfig, type DemoOidcSignIn } from './demo-oidc-config.js';

/** Everything the demo reads from its environment, checked once. */
export interface DemoConfig {
  production: boolean;
  host: string;
  port: number;
  upstreamPort: number;
  adapter: 'express' | 'fastify';
  dataDir: string;
  redisUrl: string | undefined;
  /** REDIS_SENTINELS + REDIS_SENTINEL_MASTER: the Sentinel-managed master to use (durable ends on). */
  redisSentinel: { sentinels: string[]; master: string } | undefined;
  sessionSecrets: string[];
  vaultKeys: string[];
  upstreamKey: string | undefined;
  upstreamAdminToken: string | undefined;
  /** name -> password; empty in production unless KEYWARD_DEMO_USERS is set (then refused). */
  demoUsers: Map<string, string>;
  demoUsersFromDefault: boolean;
  idleTimeoutMs: number | undefined;
  absoluteTimeoutMs: number | undefined;
  sweepIntervalMs: number | undefined;
  mintRotateMs: number;
  mintGraceMs: number;
  proxyTimeoutMs: number;
  trustProxy: false | 'loopback';
  /** KEYWARD_ID_ROTATE_MS: undefined = the library's default; false = rotation off ('off'). */
  idRotateMs: number | false | undefined;
  /** KEYWARD_ID_ROTATE_GRACE_MS: undefined = the library's default. */
  idRotateGraceMs: number | undefined;
  /** KEYWARD_MAX_SESSIONS_PER_USER (default 10). */
  maxSessionsPerUser: number;
  /** KEYWARD_LOGIN_FAILURES_PER_USERNAME (default 5): failed logins for one username before 429. */
  loginFailuresPerUsername: number;
  /** KEYWARD_LOGIN_FAILURES_PER_CLIENT (default 20): failed logins from one client before 429. */
  loginFailuresPerClient: number;
  /** KEYWARD_PROXY_CALLS_PER_MINUTE (default 600): proxied calls one session may make per minute, all services together, before 429. */
  proxyCallsPerMinute: number;
  /** Test-only route that leaks a key past the redaction (proves the canary suite catches leaks). Never in production. */
  canaryLeakRoute: boolean;
  /**
   * KEYWARD_DEMO_TEST_PASSWORD_HASH=1: test-only, far cheaper scrypt (see password-hasher.ts), for
   * suites that log in hundreds of times with short session lifetimes on a loaded machine.
   * Never in production.
   */
  testPasswordHash: boolean;
  /** The `demo-oauth` connected account (DEMO_IDP_CONNECT_CLIENT_ID and friends); undefined without an identity provider. */
  oauth: DemoOAuthConnection | undefined;
  /** The OIDC sign-in (DEMO_IDP_SIGNIN_CLIENT_ID and friends); undefined: password login only. */
  oidc: DemoOidcSignIn | undefined;
}

const DEFAULT_USERS = 'alice:alice-password,bob:bob-password';

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, problems: string[]): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) problems.push(`${name}: expected a port number, got ${JSON.stringify(raw.slice(0, 20))}.`);
  return n;
}

function optionalMs(env: NodeJS.ProcessEnv, name: string, problems: string[]): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) problems.push(`${name}: expected a positive integer of milliseconds.`);
  return n;
}

/** KEYWARD_ID_ROTATE_MS: milliseconds, or 'off' to turn rotation off. */
function rotateMs(env: NodeJS.ProcessEnv, problems: string[]): number | false | undefined {
  const raw = env.KEYWARD_ID_ROTATE_MS;
  if (raw === 'off' || raw === 'false') return false;
  return optionalMs(env, 'KEYWARD_ID_ROTATE_MS', problems);
}

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number, max: number, problems: string[], meaning?: string): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!/^[0-9]+$/.test(raw) || !Number.isInteger(n) || n < 1 || n > max) {
    const what = meaning ? ` (${meaning}; unset for ${fallback})` : '';
    problems.push(`${name}: expected a whole number between 1 and ${max}${what}, got ${JSON.stringify(raw.slice(0, 20))}.`);
  }
  return n;
}

/** REDIS_SENTINELS (`host:port,...`) and REDIS_SENTINEL_MASTER, both or neither, never with REDIS_URL. */
function sentinelOf(env: NodeJS.ProcessEnv, problems: string[]): DemoConfig['redisSentinel'] {
  const sentinels = list(env.REDIS_SENTINELS);
  const master = env.REDIS_SENTINEL_MASTER?.trim() || '';
  if (sentinels.length === 0 && !master) return undefined;
  const before = problems.length;
  if (sentinels.length === 0) problems.push('REDIS_SENTINEL_MASTER: needs REDIS_SENTINELS, the Sentinels as host:port,host:port,...');
  if (!master) problems.push("REDIS_SENTINELS: needs REDIS_SENTINEL_MASTER, the master's name in the Sentinels' configuration (e.g. mymaster).");
  for (const s of sentinels) if (!/^[^\s:]+:\d{1,5}$/.test(s)) problems.push(`REDIS_SENTINELS: expected host:port entries separated by commas, got ${JSON.stringify(s.slice(0, 40))}.`);
  if (env.REDIS_URL) problems.push('REDIS_URL and REDIS_SENTINELS: give one of them (REDIS_SENTINELS for a Sentinel-managed master).');
  return problems.length === before ? { sentinels, master } : undefined;
}

function list(raw: string | undefined): string[] {
  return (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

/**
 * Development secrets live in `<dataDir>/dev-secrets.json` (mode 0600), generated once,
 * so sessions survive a restart. Production never reads or writes this file.
 */
function devSecrets(dataDir: string): { sessionSecrets: string[]; vaultKeys: string[] } {
  const file = join(dataDir, 'dev-secrets.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as { sessionSecrets: string[]; vaultKeys: string[] };
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const generated = {
    sessionSecrets: [randomBytes(32).toString('base64url')],
    vaultKeys: [`dev1:${randomBytes(32).toString('base64')}`],
  };
  writeFileSync(file, JSON.stringify(generated), { mode: 0o600 });
  return generated;
}

/**
 * KEYWARD_TRUST_PROXY: 'loopback' (a TLS-terminating proxy on this host sets
 * X-Forwarded-Proto and X-Forwarded-For: its word on the scheme and on the client's address,
 * which the login limits count, is believed, in development too when set) or 'off'. In
 * production the default is 'loopback' when the demo binds a
 * loopback address (its default, 127.0.0.1: only a local proxy can reach it); plain-HTTP
 * requests are still refused (403) unless that proxy says https, and /healthz answers for
 * probes. Bound elsewhere, the setting is required.
 */
function trustProxyOf(env: NodeJS.ProcessEnv, production: boolean, problems: string[]): false | 'loopback' {
  const v = env.KEYWARD_TRUST_PROXY;
  if (v === 'loopback') return 'loopback';
  if (v === 'off' || v === 'false') return false;
  if (v !== undefined && v !== '') {
    problems.push("KEYWARD_TRUST_PROXY: expected 'loopback' (a TLS-terminating proxy on this host) or 'off'.");
    return false;
  }
  const host = env.HOST || '127.0.0.1';
  return production && (host === 'localhost' || host === '::1' || host.startsWith('127.')) ? 'loopback' : false;
}

/** Reads and checks the demo's environment; throws one error listing every problem. */
export function loadDemoConfig(env: NodeJS.ProcessEnv = process.env): DemoConfig {
  const problems: string[] = [];
  const production = env.NODE_ENV === 'production';
  const dataDir = resolve(env.KEYWARD_DATA_DIR || './.data');
  const adapter = env.KEYWARD_ADAPTER === 'fastify' ? 'fastify' : 'express';
  if (env.KEYWARD_ADAPTER && !['express', 'fastify'].includes(env.KEYWARD_ADAPTER)) problems.push("KEYWARD_ADAPTER: expected 'express' or 'fastify'.");

  let sessionSecrets = list(env.KEYWARD_SESSION_SECRETS);
  let vaultKeys = list(env.KEYWARD_VAULT_KEYS);
  if (production) {
    if (sessionSecrets.length === 0) problems.push('KEYWARD_SESSION_SECRETS: required in production (comma list, newest first, each >= 32 random bytes).');
    if (vaultKeys.length === 0) problems.push('KEYWARD_VAULT_KEYS: required in production (comma list of id:base64key, newest first).');
  } else if (sessionSecrets.length === 0 || vaultKeys.length === 0) {
    const dev = devSecrets(dataDir);
    if (sessionSecrets.length === 0) sessionSecrets = dev.sessionSecrets;
    if (vaultKeys.length === 0) vaultKeys = dev.vaultKeys;
  }

  const usersRaw = env.KEYWARD_DEMO_USERS ?? (production ? '' : DEFAULT_USERS);
  const demoUsers = new Map<string, string>();
  for (const entry of list(usersRaw)) {
    const i = entry.indexOf(':');
    if (i <= 0 || i === entry.length - 1) problems.push('KEYWARD_DEMO_USERS: expected name:password pairs separated by commas.');
    else demoUsers.set(entry.slice(0, i), entry.slice(i + 1));
  }

  const config: DemoConfig = {
    production,
    host: env.HOST || '127.0.0.1',
    port: int(env, 'PORT', 3000, problems),
    upstreamPort: int(env, 'UPSTREAM_PORT', 4000, problems),
    adapter,
    dataDir,
    redisUrl: env.REDIS_URL || undefined,
    redisSentinel: sentinelOf(env, problems),
    sessionSecrets,
    vaultKeys,
    upstreamKey: env.DEMO_UPSTREAM_KEY || undefined,
    upstreamAdminToken: env.DEMO_UPSTREAM_ADMIN_TOKEN || undefined,
    demoUsers,
    demoUsersFromDefault: env.KEYWARD_DEMO_USERS === undefined,
    idleTimeoutMs: optionalMs(env, 'KEYWARD_IDLE_TIMEOUT_MS', problems),
    absoluteTimeoutMs: optionalMs(env, 'KEYWARD_ABSOLUTE_TIMEOUT_MS', problems),
    sweepIntervalMs: optionalMs(env, 'KEYWARD_SWEEP_INTERVAL_MS', problems),
    mintRotateMs: optionalMs(env, 'KEYWARD_MINT_ROTATE_MS', problems) ?? 15 * 60_000,
    mintGraceMs: optionalMs(env, 'KEYWARD_MINT_GRACE_MS', problems) ?? 60_000,
    proxyTimeoutMs: optionalMs(env, 'KEYWARD_PROXY_TIMEOUT_MS', problems) ?? 10_000,
    trustProxy: trustProxyOf(env, production, problems),
    canaryLeakRoute: env.KEYWARD_DEMO_LEAK_ROUTE === '1',
    testPasswordHash: env.KEYWARD_DEMO_TEST_PASSWORD_HASH === '1',
    idRotateMs: rotateMs(env, problems),
    idRotateGraceMs: optionalMs(env, 'KEYWARD_ID_ROTATE_GRACE_MS', problems),
    maxSessionsPerUser: positiveInt(env, 'KEYWARD_MAX_SESSIONS_PER_USER', 10, 10_000, problems),
    loginFailuresPerUsername: positiveInt(env, 'KEYWARD_LOGIN_FAILURES_PER_USERNAME', 5, 1_000_000, problems),
    loginFailuresPerClient: positiveInt(env, 'KEYWARD_LOGIN_FAILURES_PER_CLIENT', 20, 1_000_000, problems),
    proxyCallsPerMinute: positiveInt(env, 'KEYWARD_PROXY_CALLS_PER_MINUTE', 600, 1_000_000, problems, 'proxied calls one session may make per minute'),
    oauth: demoOAuthConfig(env, production, problems),
    oidc: demoOidcConfig(env, production, problems),
  };
  if (production && config.canaryLeakRoute) problems.push('KEYWARD_DEMO_LEAK_ROUTE: a test-only route; refused in production.');
  if (production && config.testPasswordHash) problems.push('KEYWARD_DEMO_TEST_PASSWORD_HASH: test-only password hashing below the OWASP minimum; refused in production.');
  // The connection and the sign-in share the provider's variables: each problem once.
  if (problems.length > 0) throw new TypeError(`The demo's environment is invalid:\n${[...new Set(problems)].map((p) => `  - ${p}`).join('\n')}`);
  return config;
}
