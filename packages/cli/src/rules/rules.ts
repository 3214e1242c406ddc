import type { RuleId, Severity } from '../finding.js';

/** What a user reads about a rule: what it finds, why that is exploitable, how to fix it. */
export interface RuleMeta {
  id: RuleId;
  /** Kebab-case name, also the ESLint rule name (`keyward/<name>`). */
  name: string;
  /** Default severity; a finding may be lower (for example a missing, rather than disabled, flag). */
  severity: Severity;
  /** Short title. */
  title: string;
  /** Why it is exploitable. */
  why: string;
  /** How to fix it. */
  fix: string;
  /** A NestJS example of the fixed code. */
  example: string;
  /** Whether `keyward audit`, `keyward probe` or both report it. */
  sources: readonly ('audit' | 'probe')[];
}

/** Every rule, by id. */
export const RULES: Readonly<Record<RuleId, RuleMeta>> = {
  KW001: {
    id: 'KW001',
    name: 'secret-in-client-session-or-cookie',
    severity: 'high',
    title: 'API key or secret stored in a cookie or a client-side session',
    why:
      'A cookie is sent to and kept by the browser. Signed is not encrypted: anyone holding the ' +
      'cookie (the user, malware, an XSS payload when HttpOnly is missing, a proxy log, a network ' +
      'observer when Secure is missing) decodes it and reads the key. cookie-session and JWT cookies ' +
      'put the whole session object into the cookie, so a key stored "in the session" is in the cookie.',
    fix:
      'Keep the key on the server: store it in a server-side session store (Redis) or a vault keyed ' +
      'by the session id, and put only an opaque random session id in the cookie. Attach the key to ' +
      'upstream calls on the server (backend-for-frontend).',
    example: [
      '// main.ts: the cookie carries only a signed random id; data lives in Redis',
      "app.use(session({ store: new RedisStore({ client: redis }), secret: config.getOrThrow('SESSION_SECRET'),",
      "  name: '__Host-sid', resave: false, saveUninitialized: false,",
      "  cookie: { httpOnly: true, secure: true, sameSite: 'lax', maxAge: 30 * 60_000, path: '/' } }));",
      '// controller: the key never leaves the server',
      "@Post('keys') async save(@Session() s: SessionData, @Body() dto: KeyDto) {",
      '  await this.vault.put(s.id, dto.apiKey); // encrypted server-side, bound to the session',
      '}',
    ].join('\n'),
    sources: ['audit', 'probe'],
  },
  KW002: {
    id: 'KW002',
    name: 'insecure-cookie-options',
    severity: 'medium',
    title: 'Insecure session or cookie options',
    why:
      'Without HttpOnly, any script injected into the page reads the cookie; without Secure it ' +
      'crosses the network in clear text; SameSite=None lets other sites send it; a long or missing ' +
      'lifetime keeps a stolen cookie useful; the default cookie name tells an attacker which ' +
      'framework to target; saveUninitialized creates sessions for every anonymous request; the ' +
      'in-memory store loses sessions on restart and leaks memory under load.',
    fix:
      'Set httpOnly: true, secure: true in production (or `secure: isProd`), sameSite: "lax" or ' +
      '"strict", a short maxAge, a custom cookie name (`__Host-` prefix with path "/"), ' +
      'resave: false, saveUninitialized: false and a real store such as Redis.',
    example: [
      'const isProd = config.get(\'NODE_ENV\') === \'production\';',
      'app.use(session({',
      "  name: '__Host-sid', store: new RedisStore({ client: redis }),",
      "  secret: config.getOrThrow('SESSION_SECRET'), resave: false, saveUninitialized: false,",
      "  cookie: { httpOnly: true, secure: isProd, sameSite: 'lax', maxAge: 30 * 60_000, path: '/' },",
      '}));',
    ].join('\n'),
    sources: ['audit', 'probe'],
  },
  KW003: {
    id: 'KW003',
    name: 'hardcoded-or-fallback-secret',
    severity: 'high',
    title: 'Hard-coded secret or literal fallback for a secret',
    why:
      'A secret in the source is in every clone, build artefact and CI log. A fallback such as ' +
      "`process.env.SESSION_SECRET || 'change-this-to-a-secure-random-value'` silently runs " +
      'production with a public value when the variable is missing: anyone can then forge signed ' +
      'session cookies. Well-known placeholders (keyboard cat, my-secret, the docs\' values) are ' +
      'the first values an attacker tries.',
    fix:
      'Read the secret from the environment or a secret manager and fail at startup when it is ' +
      'missing or weak; rotate any key that was ever committed.',
    example: [
      '// main.ts',
      "const secret = config.getOrThrow<string>('SESSION_SECRET'); // throws when missing",
      "if (secret.length < 32) throw new Error('SESSION_SECRET must be at least 32 random characters');",
      'app.use(session({ secret, /* ... */ }));',
    ].join('\n'),
    sources: ['audit', 'probe'],
  },
  KW004: {
    id: 'KW004',
    name: 'secret-logged-or-returned',
    severity: 'high',
    title: 'Secret written to a log, a response body or an exception',
    why:
      'Logs are shipped to third parties, kept for months and read by many people; response bodies ' +
      'and exception messages reach the browser (and its extensions, caches and error trackers). A ' +
      'key that appears in either has leaked.',
    fix:
      'Never log or return the key. Log a masked form (last 4 characters) or a keyed hash, configure ' +
      'logger redaction (pino `redact`), and return only what the client needs (for example ' +
      '`{ configured: true, last4 }`).',
    example: [
      "this.logger.log(`stored key for user ${userId} (…${apiKey.slice(-4)})`);",
      "@Get('key') status(@Session() s: SessionData) {",
      '  return { configured: this.vault.has(s.id) }; // never the key itself',
      '}',
    ].join('\n'),
    sources: ['audit', 'probe'],
  },
  KW005: {
    id: 'KW005',
    name: 'cors-reflects-any-origin-with-credentials',
    severity: 'high',
    title: 'CORS reflects any origin and allows credentials',
    why:
      'With `origin: true` (or a callback that allows every origin) and `credentials: true`, any ' +
      'website the user visits can send requests with the user\'s session cookie and read the ' +
      'responses, including keys and personal data.',
    fix: 'Allow an explicit list of trusted origins, or do not allow credentials cross-origin.',
    example: [
      'app.enableCors({',
      "  origin: ['https://app.example.com'], // explicit allowlist",
      '  credentials: true,',
      '});',
    ].join('\n'),
    sources: ['audit', 'probe'],
  },
  KW006: {
    id: 'KW006',
    name: 'missing-hsts',
    severity: 'medium',
    title: 'HTTPS response without Strict-Transport-Security',
    why:
      'Without HSTS, the first request a browser makes to the site can go over plain HTTP, where a ' +
      'network attacker can strip TLS and read or set cookies.',
    fix: 'Send `Strict-Transport-Security: max-age=31536000; includeSubDomains` on every HTTPS response (helmet does).',
    example: ["import helmet from 'helmet';", 'app.use(helmet({ hsts: { maxAge: 31_536_000, includeSubDomains: true } }));'].join(
      '\n',
    ),
    sources: ['probe'],
  },
};

/** All rules in id order. */
export const RULE_LIST: readonly RuleMeta[] = Object.values(RULES);

/** The rule for a kebab-case name, or undefined. */
export function ruleByName(name: string): RuleMeta | undefined {
  return RULE_LIST.find((r) => r.name === name);
}
