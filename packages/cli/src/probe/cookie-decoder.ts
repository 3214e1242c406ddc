import { createHmac, timingSafeEqual } from 'node:crypto';

/** One readable form of a cookie value and how it was obtained. */
export interface DecodedValue {
  how: string;
  text: string;
}

function safeDecodeURIComponent(v: string): string {
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}

const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

/** Decodes base64 or base64url to text when the result is mostly printable UTF-8. */
export function decodeBase64Text(v: string): string | undefined {
  if (v.length < 8 || v.length > 16_384 || !BASE64.test(v)) return undefined;
  const buf = Buffer.from(v.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (buf.length === 0) return undefined;
  const text = buf.toString('utf8');
  if (text.includes('\uFFFD')) return undefined;
  let printable = 0;
  for (const ch of text) if (/[\x20-\x7E\t\r\n]/.test(ch) || ch.charCodeAt(0) > 0x9f) printable++;
  return printable / [...text].length >= 0.95 ? text : undefined;
}

/** Splits an express signed cookie value `s:<payload>.<signature>`. */
export function splitExpressSigned(value: string): { payload: string; signature: string } | undefined {
  const v = safeDecodeURIComponent(value);
  if (!v.startsWith('s:')) return undefined;
  const dot = v.lastIndexOf('.');
  if (dot <= 2) return undefined;
  return { payload: v.slice(2, dot), signature: v.slice(dot + 1) };
}

/** Splits a JWT into its decoded header and payload, or undefined. */
export function decodeJwt(value: string): { header: Record<string, unknown>; payload: string; signingInput: string; signature: string } | undefined {
  const v = safeDecodeURIComponent(value).replace(/^Bearer\s+/i, '');
  const parts = v.split('.');
  if (parts.length !== 3 || !parts[0]!.startsWith('eyJ')) return undefined;
  const headerText = decodeBase64Text(parts[0]!);
  const payload = decodeBase64Text(parts[1]!);
  if (!headerText || payload === undefined) return undefined;
  try {
    const header = JSON.parse(headerText) as Record<string, unknown>;
    if (typeof header !== 'object' || header === null || typeof header['alg'] !== 'string') return undefined;
    return { header, payload, signingInput: `${parts[0]}.${parts[1]}`, signature: parts[2]! };
  } catch {
    return undefined;
  }
}

/**
 * Every readable form of a cookie value: the raw value, URL-decoded, express signed `s:`
 * payload, cookie-parser `j:` JSON, JWT payload, base64 (cookie-session) JSON.
 */
export function decodeCookieValue(value: string): DecodedValue[] {
  const out: DecodedValue[] = [{ how: 'raw value', text: value }];
  let v = safeDecodeURIComponent(value);
  if (v !== value) out.push({ how: 'URL-decoded', text: v });
  const signed = splitExpressSigned(value);
  if (signed) {
    v = signed.payload;
    out.push({ how: 'express signed cookie (s:) payload', text: v });
  }
  if (v.startsWith('j:')) out.push({ how: 'cookie-parser JSON (j:)', text: v.slice(2) });
  const jwt = decodeJwt(v);
  if (jwt) out.push({ how: 'JWT payload', text: jwt.payload });
  else {
    const b64 = decodeBase64Text(v);
    if (b64 !== undefined) out.push({ how: 'base64', text: b64 });
  }
  return out;
}

function eq(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** express / cookie-signature: base64 HMAC-SHA256 without padding. */
export function signExpress(payload: string, secret: string): string {
  return createHmac('sha256', secret).update(payload).digest('base64').replace(/=+$/, '');
}

/** keygrip (cookie-session, cookies): base64url HMAC of `name=value`, sha1 by default. */
export function signKeygrip(data: string, secret: string, algorithm: 'sha1' | 'sha256' = 'sha1'): string {
  return createHmac(algorithm, secret).update(data).digest('base64').replace(/\//g, '_').replace(/\+/g, '-').replace(/=+$/, '');
}

/** HS256/384/512 JWT signature. */
function signJwt(signingInput: string, secret: string, alg: string): string | undefined {
  const algo = alg === 'HS256' ? 'sha256' : alg === 'HS384' ? 'sha384' : alg === 'HS512' ? 'sha512' : undefined;
  if (!algo) return undefined;
  return createHmac(algo, secret).update(signingInput).digest('base64url');
}

/** What signed a cookie, when a candidate secret reproduces its signature. */
export interface CrackedSignature {
  scheme: 'express s:' | 'cookie-session keygrip' | 'JWT';
  secret: string;
}

/**
 * Tries each candidate secret against a cookie's signature, offline: express `s:` values,
 * cookie-session values with their `<name>.sig` companion, and HMAC-signed JWTs.
 */
export function findWeakSigningSecret(name: string, value: string, sigCookie: string | undefined, candidates: readonly string[]): CrackedSignature | undefined {
  const signed = splitExpressSigned(value);
  const jwt = decodeJwt(signed ? signed.payload : value);
  for (const secret of candidates) {
    if (signed && eq(signExpress(signed.payload, secret), signed.signature)) return { scheme: 'express s:', secret };
    if (sigCookie !== undefined) {
      const data = `${name}=${value}`;
      if (eq(signKeygrip(data, secret), sigCookie) || eq(signKeygrip(data, secret, 'sha256'), sigCookie)) return { scheme: 'cookie-session keygrip', secret };
    }
    if (jwt && typeof jwt.header['alg'] === 'string') {
      const sig = signJwt(jwt.signingInput, secret, jwt.header['alg']);
      if (sig !== undefined && eq(sig, jwt.signature)) return { scheme: 'JWT', secret };
    }
  }
  return undefined;
}
