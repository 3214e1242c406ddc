/**
 * Recognises secrets: provider key formats, generic high-entropy values next to a secret-like
 * name, and secret-like identifiers (env vars, config keys, request fields). Regular expressions
 * here only ever look at string VALUES or single names, never at source structure.
 */

import { maskHead } from '@keyward/core';

/** A provider whose keys have a recognisable format. */
export interface ProviderPattern {
  provider: string;
  pattern: RegExp;
}

/** Provider key formats. Ordered: more specific first (Anthropic before OpenAI). */
export const PROVIDER_PATTERNS: readonly ProviderPattern[] = [
  { provider: 'Stripe secret key', pattern: /\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,}\b/ },
  { provider: 'Anthropic API key', pattern: /\bsk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_-]{20,}/ },
  { provider: 'OpenAI API key', pattern: /\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}/ },
  { provider: 'AWS access key id', pattern: /\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b/ },
  { provider: 'GitHub token', pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b/ },
  { provider: 'Slack token', pattern: /\bxox[abposr]-[0-9A-Za-z-]{10,}/ },
  { provider: 'Slack webhook', pattern: /https:\/\/hooks\.slack\.com\/services\/T[0-9A-Z]+\/B[0-9A-Z]+\/[0-9A-Za-z]+/ },
  { provider: 'Google API key', pattern: /\bAIza[0-9A-Za-z_-]{35}\b/ },
  { provider: 'Google OAuth client secret', pattern: /\bGOCSPX-[0-9A-Za-z_-]{28}\b/ },
  { provider: 'JWT', pattern: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{10,}/ },
  { provider: 'private key', pattern: /-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----/ },
];

/** Substrings that mark a value as a placeholder or an example, not a real key. */
const PLACEHOLDER_MARKERS = [
  'xxxx',
  'XXXX',
  '****',
  '....',
  '<',
  '${',
  '{{',
  'your',
  'YOUR',
  'example',
  'EXAMPLE',
  'placeholder',
  'PLACEHOLDER',
  'dummy',
  'DUMMY',
  'fake',
  'FAKE',
  'redacted',
  'REDACTED',
  'replace',
  'REPLACE',
  'insert',
  'INSERT',
  '0000000000',
  '1234567890',
];

/** True when a value reads like a placeholder (`sk_test_xxxx`, `<your key>`, `YOUR_API_KEY`). */
export function isPlaceholder(value: string): boolean {
  if (PLACEHOLDER_MARKERS.some((m) => value.includes(m))) return true;
  // the same character repeated, or only one or two distinct characters after a prefix
  const tail = value.replace(/^[a-z]{2,4}[_-](?:live|test|proj|ant)?[_-]?/i, '');
  return tail.length > 0 && new Set(tail).size <= 2;
}

/** Shannon entropy of a string, in bits per character. */
export function shannonEntropy(value: string): number {
  if (value.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const ch of value) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / value.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

/** The provider whose key format `value` contains, or undefined. Placeholders never match. */
export function matchProvider(value: string): string | undefined {
  for (const { provider, pattern } of PROVIDER_PATTERNS) {
    const m = pattern.exec(value);
    if (m && !isPlaceholder(m[0])) return provider;
  }
  return undefined;
}

/**
 * True when `value` looks like a random key: at least 16 characters, no spaces, at least 3.5
 * bits of entropy per character, not a placeholder, not a URL or path.
 */
export function looksRandom(value: string): boolean {
  if (value.length < 16 || value.length > 4096) return false;
  if (/\s/.test(value)) return false;
  if (isPlaceholder(value)) return false;
  if (/^(?:https?:|\/|\.\/|[a-z]+:\/\/)/i.test(value)) return false;
  if (/^[a-z]+(?:[-_.][a-z]+)+$/i.test(value)) return false; // dotted/kebab words: config.key.name
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/].filter((r) => r.test(value)).length;
  if (classes < 2) return false;
  // identifiers and namespaced names (`keyward:usesCredentials`): letters and separators only
  if (/^[A-Za-z:._/-]+$/.test(value)) return false;
  return shannonEntropy(value) >= 3.5;
}

/** Words that make a name secret-like; matched against the name split into words. */
const STRONG_WORDS = /(?:api_?key|apikey|secret|private_?key|access_?key|client_?secret|password|passwd|credential|signing_?key|encryption_?key|auth_?token|bearer)/i;
const TOKEN_WORD = /token/i;
/** Name parts that make a secret-like name refer to something that is not the secret itself. */
const NOT_SECRET_SUFFIX =
  /(?:_?(?:id|ids|name|names|header|headers|url|uri|path|file|length|len|size|prefix|suffix|field|param|env|var|hash|hashed|digest|masked|mask|hint|last4|last_?four|preview|expires?|expires_in|expire_in|expiry|ttl|duration|lifetime|algorithm|algorithms|alg|at|set|present|exists|required|configured|count|type|kind|version|label|policy|pattern|regex|ref|store|storage|provider|service|manager|module|options|config|missing|unavailable|invalid|error|errors|expired|rotated|revoked|not_found|code|status|message|schema|dto|input|form|strategy|guard|type))$/i;
const NEVER_SECRET = /(?:csrf|xsrf|public|publishable|non_?secret|^is_|^has_|^should_|^uses?_|^needs?_|^requires?_)/i;

function normaliseName(name: string): string {
  // camelCase, kebab-case and dotted paths to snake_case
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[-.\s]+/g, '_')
    .toLowerCase();
}

/**
 * True when a name (variable, property, env var, config path, header) denotes a secret value:
 * `apiKey`, `STRIPE_SECRET_KEY`, `x-api-key`, `stripe.secretKey`. Names of things about a secret
 * (`apiKeyHeader`, `SECRET_NAME`, `hasApiKey`) and CSRF tokens are not secrets.
 *
 * @param tokens also count names with `token` in them (for env vars and config, where a token is
 *   a provider credential such as `GITHUB_TOKEN`; not for cookie and request fields, where a
 *   token is usually the app's own session token).
 */
export function isSecretName(name: string, tokens = false): boolean {
  const last = lastSegment(name);
  const n = normaliseName(last);
  if (NEVER_SECRET.test(n)) return false;
  if (NOT_SECRET_SUFFIX.test(n)) return false;
  if (STRONG_WORDS.test(n)) return true;
  if (/(?:^|_)key$/.test(n) && n !== 'key') return /(?:^|_)(?:api|secret|private|access|stripe|openai|anthropic|aws|github|slack|google|maps|license|service|upstream|partner|provider|llm|gpt)(?:_|$)/.test(n);
  if (tokens && TOKEN_WORD.test(n)) return true;
  // a provider's token is a credential even as a request or object field: githubToken, slack_bot_token
  if (/(?:^|_)(?:github|gitlab|slack|stripe|openai|anthropic|aws|google|upstream|partner|provider|api|bot|personal|pat|llm|hf|huggingface|npm|discord|twilio|sendgrid)(?:_bot|_access|_api)?_token$/.test(n)) return true;
  return false;
}

function lastSegment(name: string): string {
  const parts = name.split(/[.:/]/).filter(Boolean);
  return parts.length > 0 ? parts[parts.length - 1]! : name;
}

/** True when an env var or config key names a secret (tokens included: `GITHUB_TOKEN`). */
export function isSecretConfigName(name: string): boolean {
  return isSecretName(name, true);
}

/**
 * Masks a secret for display: its first 4 characters (fewer for short values) and its length.
 * The full value is never shown.
 */
export function maskSecret(value: string): string {
  return maskHead(value);
}

/** What a string literal looks like, when it looks like a secret. */
export interface LiteralSecret {
  kind: 'provider' | 'generic';
  label: string;
}

/**
 * Classifies a string literal VALUE: a provider key anywhere, or a random-looking value when the
 * name it is assigned to is secret-like.
 */
export function classifyLiteral(value: string, nameHint?: string): LiteralSecret | undefined {
  const provider = matchProvider(value);
  if (provider) return { kind: 'provider', label: provider };
  if (nameHint && isSecretName(nameHint, true) && looksRandom(value)) return { kind: 'generic', label: 'high-entropy secret' };
  return undefined;
}

/**
 * True when a literal reads like prose (an error message, a hint) rather than a secret:
 * several words and sentence punctuation or backticks.
 */
export function looksLikeProse(value: string): boolean {
  const words = value.trim().split(/\s+/);
  return words.length >= 3 && (/[.?!:)`]$/.test(value.trim()) || value.includes('`') || words.length >= 6);
}

/**
 * Finds secrets inside decoded text (a cookie payload, a response body): provider formats, and
 * JSON members whose name is secret-like and whose value looks random or is non-trivial.
 */
export function findSecretsInText(text: string): { label: string; value: string }[] {
  const found: { label: string; value: string }[] = [];
  for (const { provider, pattern } of PROVIDER_PATTERNS) {
    const g = new RegExp(pattern.source, 'g');
    for (const m of text.matchAll(g)) {
      if (!isPlaceholder(m[0])) found.push({ label: provider, value: m[0] });
    }
  }
  const trimmed = text.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      for (const f of findSecretFields(JSON.parse(trimmed) as unknown, false)) found.push({ label: f.label, value: f.value });
    } catch {
      // not JSON
    }
  }
  const seen = new Set<string>();
  return found.filter((f) => (seen.has(f.value) ? false : (seen.add(f.value), true)));
}

/** A secret found in a parsed JSON value: where it is, what it looks like, and the value (to mask, never to print). */
export interface SecretField {
  /** Path of the member: `apiKey`, `passport.user.tokens.access_token`, `keys[0]`. */
  path: string;
  /** The member's own name (the last named segment of the path). */
  name: string;
  /** A provider format (`Stripe secret key`) or `value of "<name>"`. */
  label: string;
  value: string;
}

/**
 * Secrets in a parsed JSON value, with their paths: string members in a provider key format, and
 * members named like a secret ({@link isSecretName}) holding a non-trivial value (8+ characters,
 * no spaces, not a placeholder). Strings holding JSON (`'{"token":…}'`, cookie-parser's `j:{…}`)
 * are searched too. The judgement of the probe's cookie and body checks.
 *
 * @param tokens also count members named like a token (`access_token`, `refreshToken`): yes for
 *   what a server keeps (a session record), no for cookies and bodies, where a token is usually the
 *   app's own session token.
 * @example
 * findSecretFields({ user: 'ann', apiKey: 'sk_live_…' }, false); // [{ path: 'apiKey', label: 'Stripe secret key', … }]
 */
export function findSecretFields(value: unknown, tokens: boolean): SecretField[] {
  const out: SecretField[] = [];
  walkJson(value, '', '', out, 0, tokens);
  return out;
}

function pathSegment(name: string): string {
  const shown = matchProvider(name) ? maskSecret(name) : name;
  return /^[A-Za-z_$][\w$-]*$/.test(shown) ? `.${shown}` : `[${JSON.stringify(shown)}]`;
}

function walkJson(value: unknown, name: string, path: string, out: SecretField[], depth: number, tokens: boolean): void {
  if (depth > 20) return;
  if (typeof value === 'string') {
    const provider = matchProvider(value);
    if (provider) {
      out.push({ path, name, label: provider, value });
      return;
    }
    if (name && isSecretName(name, tokens) && value.length >= 8 && !isPlaceholder(value) && !/\s/.test(value)) {
      out.push({ path, name, label: `value of "${name}"`, value });
      return;
    }
    const json = value.startsWith('j:') ? value.slice(2) : value;
    if (/^\s*[[{]/.test(json) && json.length <= 1_048_576) {
      try {
        walkJson(JSON.parse(json) as unknown, name, path, out, depth + 1, tokens);
      } catch {
        // not JSON
      }
    }
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => walkJson(v, name, `${path}[${i}]`, out, depth + 1, tokens));
    return;
  }
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) walkJson(v, k, path ? `${path}${pathSegment(k)}` : pathSegment(k).replace(/^\./, ''), out, depth + 1, tokens);
  }
}
