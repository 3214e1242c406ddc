import { type JWTVerifyGetKey, createRemoteJWKSet, jwtVerify } from 'jose';

/** Signature algorithms accepted on access tokens unless configured otherwise (never `none`, never HMAC). */
export const DEFAULT_ACCESS_TOKEN_ALGORITHMS: readonly string[] = ['ES256', 'RS256'];

/** Where the upstream's JWT access tokens come from and for whom they must be. */
export interface AccessTokenSettings {
  /** The identity provider's issuer (`iss` must equal it), e.g. `http://127.0.0.1:4100`. */
  readonly issuer: string;
  /** This upstream's audience (`aud` must contain it), e.g. `urn:keyward:demo-upstream`. */
  readonly audience: string;
  /** The provider's JWKS URI; found through the issuer's discovery document when omitted. */
  readonly jwksUri?: string | undefined;
  /** @default DEFAULT_ACCESS_TOKEN_ALGORITHMS (ES256, RS256) */
  readonly algorithms?: readonly string[] | undefined;
}

/** Who an accepted access token speaks for (never the token itself). */
export interface TokenPrincipal {
  readonly sub: string;
  readonly clientId: string | null;
  readonly scope: string | null;
}

/** Three base64url segments: the shape of a JWS compact serialization. */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** True when a bearer credential is shaped like a JWT (and so is not one of our keys). */
export function looksLikeJwt(value: string): boolean {
  return JWT_SHAPE.test(value);
}

/**
 * Checks JWT access tokens (RFC 9068) with `jose`: signature against the provider's JWKS
 * (fetched and cached by `createRemoteJWKSet`, refetched for an unknown `kid`), `typ`
 * `at+jwt`, `iss`, `aud`, `exp`, the allowed algorithms, and `sub`. The JWKS URI comes from
 * the issuer's discovery document (whose `issuer` must match) the first time a token
 * arrives, so the upstream may start before the provider; a failed discovery is retried on
 * the next token.
 */
export class AccessTokenVerifier {
  readonly #settings: AccessTokenSettings;
  readonly #algorithms: string[];
  #keys: Promise<JWTVerifyGetKey> | undefined;

  constructor(settings: AccessTokenSettings) {
    this.#settings = settings;
    this.#algorithms = [...(settings.algorithms ?? DEFAULT_ACCESS_TOKEN_ALGORITHMS)];
  }

  async #discoverKeys(): Promise<JWTVerifyGetKey> {
    let jwksUri = this.#settings.jwksUri;
    if (jwksUri === undefined) {
      const res = await fetch(`${this.#settings.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5_000) });
      if (!res.ok) throw new Error(`discovery answered ${res.status}`);
      const doc = (await res.json()) as { issuer?: unknown; jwks_uri?: unknown };
      if (doc.issuer !== this.#settings.issuer) throw new Error('discovery names another issuer');
      if (typeof doc.jwks_uri !== 'string') throw new Error('discovery has no jwks_uri');
      jwksUri = doc.jwks_uri;
    }
    return createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: 5_000, cooldownDuration: 5_000 });
  }

  /** The token's principal, or null for any token that is not valid here (never throws). */
  async verify(token: string): Promise<TokenPrincipal | null> {
    try {
      this.#keys ??= this.#discoverKeys();
      const keys = await this.#keys.catch((err: unknown) => {
        this.#keys = undefined; // try discovery again with the next token
        throw err;
      });
      const { payload } = await jwtVerify(token, keys, {
        issuer: this.#settings.issuer,
        audience: this.#settings.audience,
        algorithms: this.#algorithms,
        typ: 'at+jwt',
        requiredClaims: ['exp', 'iat', 'sub'],
      });
      return {
        sub: String(payload.sub),
        clientId: typeof payload['client_id'] === 'string' ? payload['client_id'] : null,
        scope: typeof payload['scope'] === 'string' ? payload['scope'] : null,
      };
    } catch {
      return null;
    }
  }
}
