import type * as Jose from 'jose';

/** Loaded once, at the first back-channel logout (an app that never receives one never loads it). */
let lib: Promise<typeof Jose> | undefined;
function jose(): Promise<typeof Jose> {
  return (lib ??= import('jose'));
}

/** The `events` member every logout token carries (OpenID Connect Back-Channel Logout 1.0, section 2.4). */
export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/** What a valid logout token names. */
export interface LogoutClaims {
  sub: string | undefined;
  sid: string | undefined;
  jti: string;
}

/** A logout token refused: the description is safe to answer (it never quotes the token). */
export class LogoutTokenRefused extends Error {
  override readonly name = 'LogoutTokenRefused';
}

/** Asymmetric JWS algorithms only: a logout token is verified with the provider's public keys, never `none`, never a shared secret. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
const CLOCK_TOLERANCE_S = 30;

/**
 * Verifies back-channel logout tokens (section 2.6 of the spec) with panva's `jose`:
 * the signature against the provider's JWKS (fetched, cached, fetched again for an unknown
 * `kid` no more than every 30 s), `iss`, `aud` (the client ID), `iat` within `maxAgeMs`
 * (and not in the future), `exp` if present, the `events` claim, no `nonce`, a `sub` or a
 * `sid`, a `jti`. openid-client has no verifier for this token, so `jose` (its own
 * dependency, the same author) does it. Replays (`jti`) are the caller's: they need the
 * store, across instances.
 */
export class LogoutTokenVerifier {
  private jwks: ReturnType<typeof Jose.createRemoteJWKSet> | undefined;

  constructor(
    private readonly provider: () => Promise<{ issuer: string; jwksUri: string | undefined }>,
    private readonly clientId: string,
    private readonly maxAgeMs: number,
    private readonly now: () => number,
  ) {}

  async verify(token: unknown): Promise<LogoutClaims> {
    if (typeof token !== 'string' || token.length === 0) throw new LogoutTokenRefused('logout_token is missing.');
    if (token.length > 16_384 || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token)) throw new LogoutTokenRefused('logout_token is not a signed JWT.');
    const j = await jose();
    const { issuer, jwksUri } = await this.provider();
    if (!jwksUri) throw new LogoutTokenRefused('the provider publishes no keys to verify logout_token with.');
    this.jwks ??= j.createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: 10_000, cooldownDuration: 30_000 });
    let payload: Jose.JWTPayload;
    try {
      ({ payload } = await j.jwtVerify(token, this.jwks, {
        issuer,
        audience: this.clientId,
        algorithms: ALGORITHMS,
        maxTokenAge: `${Math.floor(this.maxAgeMs / 1000)}s`,
        clockTolerance: CLOCK_TOLERANCE_S,
        requiredClaims: ['iat', 'jti'],
        currentDate: new Date(this.now()),
      }));
    } catch (e) {
      throw new LogoutTokenRefused(describe(e));
    }
    const events = payload.events;
    if (!events || typeof events !== 'object' || Array.isArray(events) || !isObject((events as Record<string, unknown>)[BACKCHANNEL_LOGOUT_EVENT])) {
      throw new LogoutTokenRefused(`logout_token has no ${BACKCHANNEL_LOGOUT_EVENT} event.`);
    }
    if (payload.nonce !== undefined) throw new LogoutTokenRefused('logout_token must not carry a nonce.');
    const sub = typeof payload.sub === 'string' && payload.sub.length > 0 ? payload.sub : undefined;
    const sid = typeof payload.sid === 'string' && payload.sid.length > 0 ? payload.sid : undefined;
    if (!sub && !sid) throw new LogoutTokenRefused('logout_token names neither a sub nor a sid.');
    if (typeof payload.jti !== 'string' || payload.jti.length === 0 || payload.jti.length > 256) throw new LogoutTokenRefused('logout_token has no usable jti.');
    return { sub, sid, jti: payload.jti };
  }
}

function isObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A refusal's reason from jose's error code (a fixed sentence each: nothing of the token is quoted). */
function describe(e: unknown): string {
  const code = (e as { code?: string })?.code;
  const claim = (e as { claim?: string })?.claim;
  switch (code) {
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'logout_token signature is invalid.';
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return 'logout_token is not signed with a key of the provider.';
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'logout_token is unsigned or signed with an algorithm not accepted.';
    case 'ERR_JWT_EXPIRED':
      return 'logout_token has expired.';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return claim && /^[a-z]{2,5}$/.test(claim) ? `logout_token ${claim} claim is invalid.` : 'logout_token claims are invalid.';
    case 'ERR_JWKS_TIMEOUT':
    case 'ERR_JOSE_GENERIC':
      return 'the provider keys could not be fetched.';
    default:
      return 'logout_token is not a valid JWT.';
  }
}
