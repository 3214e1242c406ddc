import { webcrypto, type JsonWebKey } from 'node:crypto';
import type * as Oidc from 'openid-client';
import { OAuthError, OAuthErrorCode } from '../keyward.errors.js';
import type { OAuthTokenClient, OAuthTokenSet } from '../vault/providers/oauth-token.provider.js';
import type { ResolvedOAuthConnection } from './oauth-options.js';

type Lib = typeof Oidc;

/** Loaded once, when a connection is first used (an app without connections never loads it). */
let lib: Promise<Lib> | undefined;
function openidClient(): Promise<Lib> {
  return (lib ??= import('openid-client'));
}

/** What the start of a flow needs remembered (server-side) until the callback. */
export interface AuthorizationRequest {
  url: URL;
  state: string;
  verifier: string;
  nonce: string | undefined;
}

/** The RFC 6749 / OpenID error codes a provider's `error=` may be quoted with (anything else is not echoed). */
const STANDARD_ERRORS = new Set([
  'invalid_request', 'unauthorized_client', 'access_denied', 'unsupported_response_type', 'invalid_scope', 'server_error',
  'temporarily_unavailable', 'interaction_required', 'login_required', 'account_selection_required', 'consent_required',
  'invalid_request_uri', 'invalid_request_object', 'request_not_supported', 'request_uri_not_supported', 'registration_not_supported',
  'invalid_grant', 'invalid_client', 'unsupported_grant_type', 'invalid_target',
]);

/** A provider's error code as it may be shown: a standard one, else `an error`. */
export function providerErrorCode(code: unknown): string {
  return typeof code === 'string' && STANDARD_ERRORS.has(code) ? code : 'an error';
}

/**
 * One connection's protocol, done by panva's openid-client (discovery, PKCE, state, nonce,
 * ID token validation, client authentication, refresh, RFC 7009 revocation). Keyward's own
 * code never builds a token request.
 */
export class OpenIdConnectionClient implements OAuthTokenClient {
  private config: Promise<Oidc.Configuration> | undefined;

  /**
   * `verifyIdTokenSignature`: also check the ID token's JWS signature against the provider's
   * JWKS (openid-client's non-repudiation checks). A sign-in turns it on: the ID token is
   * what starts a session. Connections rely on TLS to the token endpoint, as the spec allows.
   */
  constructor(
    private readonly c: ResolvedOAuthConnection,
    private readonly extra: { verifyIdTokenSignature?: boolean } = {},
  ) {}

  /** The server's configuration, discovered once (a failed discovery is tried again next time). */
  configuration(): Promise<Oidc.Configuration> {
    this.config ??= this.discover().catch((e: unknown) => {
      this.config = undefined;
      throw e instanceof OAuthError ? e : unavailable(this.c.name, 'could not be discovered', e);
    });
    return this.config;
  }

  private async discover(): Promise<Oidc.Configuration> {
    const o = await openidClient();
    const auth = await this.clientAuth(o);
    const metadata: Partial<Oidc.ClientMetadata> = {};
    let config: Oidc.Configuration;
    if (this.c.issuer) {
      const execute = this.c.insecure ? [o.allowInsecureRequests] : [];
      config = await o.discovery(this.c.issuer, this.c.clientId, metadata, auth, { execute, timeout: 10 });
    } else {
      const e = this.c.endpoints!;
      const server: Oidc.ServerMetadata = {
        issuer: e.issuer,
        authorization_endpoint: e.authorization.href,
        token_endpoint: e.token.href,
        ...(e.revocation ? { revocation_endpoint: e.revocation.href } : {}),
        ...(e.jwks ? { jwks_uri: e.jwks.href } : {}),
      };
      config = new o.Configuration(server, this.c.clientId, metadata, auth);
      if (this.c.insecure) o.allowInsecureRequests(config);
    }
    config.timeout = 10;
    if (this.extra.verifyIdTokenSignature) o.enableNonRepudiationChecks(config);
    return config;
  }

  private async clientAuth(o: Lib): Promise<Oidc.ClientAuth> {
    const a = this.c.clientAuth;
    if (a.kind === 'secret') return a.method === 'post' ? o.ClientSecretPost(a.secret) : o.ClientSecretBasic(a.secret);
    const alg = a.jwk.alg!;
    const params: webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams | webcrypto.Algorithm = alg.startsWith('RS')
      ? { name: 'RSASSA-PKCS1-v1_5', hash: `SHA-${alg.slice(2)}` }
      : alg.startsWith('PS')
        ? { name: 'RSA-PSS', hash: `SHA-${alg.slice(2)}` }
        : alg.startsWith('ES')
          ? { name: 'ECDSA', namedCurve: `P-${alg === 'ES512' ? '521' : alg.slice(2)}` }
          : { name: 'Ed25519' };
    const { alg: _alg, key_ops: _ops, use: _use, ...jwk } = a.jwk as JsonWebKey & { kid?: string };
    const key = (await webcrypto.subtle.importKey('jwk', jwk as webcrypto.JsonWebKey, params, false, ['sign'])) as unknown as Oidc.CryptoKey;
    return o.PrivateKeyJwt(a.jwk.kid ? { key, kid: a.jwk.kid } : key);
  }

  /** The authorization URL of a new flow: code, PKCE S256, state, a nonce for OpenID Connect. */
  async authorizationRequest(redirectUri: string, extraParams: Record<string, string> = {}): Promise<AuthorizationRequest> {
    const config = await this.configuration();
    const o = await openidClient();
    const verifier = o.randomPKCECodeVerifier();
    const state = o.randomState();
    const nonce = this.c.openid ? o.randomNonce() : undefined;
    const params: Record<string, string> = {
      response_type: 'code',
      redirect_uri: redirectUri,
      scope: this.c.scopes.join(' '),
      code_challenge: await o.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    };
    if (nonce) params.nonce = nonce;
    if (this.c.resource) params.resource = this.c.resource;
    if (this.c.prompt) params.prompt = this.c.prompt;
    Object.assign(params, extraParams);
    return { url: o.buildAuthorizationUrl(config, params), state, verifier, nonce };
  }

  /**
   * Redeems the callback's code. `callbackUrl` is the redirect URI with the callback's
   * query. Refusals are `OAuthError`s with a stable code; nothing of the exchange is quoted.
   */
  async exchange(callbackUrl: URL, checks: { state: string; verifier: string; nonce: string | undefined }): Promise<OAuthTokenSet> {
    return (await this.exchangeWithClaims(callbackUrl, checks)).tokens;
  }

  /**
   * {@link exchange}, with the ID token's claims as openid-client validated them (`iss`,
   * `aud`, `nonce`, `exp`, and the signature when `verifyIdTokenSignature` is on); undefined
   * without an ID token.
   */
  async exchangeWithClaims(callbackUrl: URL, checks: { state: string; verifier: string; nonce: string | undefined }): Promise<{ tokens: OAuthTokenSet; claims: Oidc.IDToken | undefined }> {
    const config = await this.configuration();
    const o = await openidClient();
    let t: Oidc.TokenEndpointResponse & Oidc.TokenEndpointResponseHelpers;
    try {
      t = await o.authorizationCodeGrant(
        config,
        callbackUrl,
        { pkceCodeVerifier: checks.verifier, expectedState: checks.state, ...(checks.nonce ? { expectedNonce: checks.nonce, idTokenExpected: true } : {}) },
        this.c.resource ? { resource: this.c.resource } : undefined,
      );
    } catch (e) {
      if (e instanceof o.AuthorizationResponseError) throw new OAuthError(OAuthErrorCode.ProviderError, `The "${this.c.name}" provider answered ${providerErrorCode(e.error)}.`);
      if (e instanceof o.ResponseBodyError) {
        if (e.status >= 500) throw unavailable(this.c.name, 'failed', e);
        throw new OAuthError(OAuthErrorCode.ExchangeFailed, `The "${this.c.name}" token endpoint refused the code (${providerErrorCode(e.error)}); connect again.`);
      }
      if (isNetworkError(e)) throw unavailable(this.c.name, 'could not be reached', e);
      throw new OAuthError(OAuthErrorCode.ExchangeFailed, `The "${this.c.name}" token response did not validate; connect again.`);
    }
    return { tokens: tokenSet(t), claims: t.claims() };
  }

  /** The provider's RP-initiated logout URL (`end_session_endpoint` with these parameters); undefined when it has none. */
  async endSessionUrl(params: Record<string, string>): Promise<URL | undefined> {
    const config = await this.configuration();
    if (!config.serverMetadata().end_session_endpoint) return undefined;
    const o = await openidClient();
    return o.buildEndSessionUrl(config, params);
  }

  /** The provider's issuer identifier and JWKS URI, as discovered. */
  async keys(): Promise<{ issuer: string; jwksUri: string | undefined }> {
    const m = (await this.configuration()).serverMetadata();
    return { issuer: m.issuer, jwksUri: m.jwks_uri };
  }

  async refresh(refreshToken: string): Promise<OAuthTokenSet> {
    const config = await this.configuration();
    const o = await openidClient();
    try {
      return tokenSet(await o.refreshTokenGrant(config, refreshToken, this.c.resource ? { resource: this.c.resource } : undefined));
    } catch (e) {
      if (e instanceof o.ResponseBodyError && e.status < 500 && e.error === 'invalid_grant') {
        throw new OAuthError(OAuthErrorCode.Reconnect, `The "${this.c.name}" connection expired or was revoked at the provider; connect it again at /api/connect/${this.c.name}.`);
      }
      throw unavailable(this.c.name, 'could not refresh the token', e);
    }
  }

  async revoke(token: string, hint: 'refresh_token' | 'access_token'): Promise<boolean> {
    const config = await this.configuration();
    if (!config.serverMetadata().revocation_endpoint) return false;
    const o = await openidClient();
    await o.tokenRevocation(config, token, { token_type_hint: hint });
    return true;
  }
}

function tokenSet(t: Oidc.TokenEndpointResponse & Oidc.TokenEndpointResponseHelpers): OAuthTokenSet {
  const expiresIn = t.expiresIn();
  return {
    accessToken: t.access_token,
    ...(t.refresh_token ? { refreshToken: t.refresh_token } : {}),
    ...(expiresIn !== undefined ? { expiresAt: Date.now() + expiresIn * 1000 } : {}),
    ...(t.scope ? { scope: t.scope } : {}),
    ...(t.id_token ? { idToken: t.id_token } : {}),
  };
}

function isNetworkError(e: unknown): boolean {
  const name = (e as { name?: string })?.name;
  const cause = (e as { cause?: { code?: unknown } })?.cause;
  // openid-client's own refusals (a claim check, a signature) carry an `OAUTH_*` code on their
  // cause: those are a bad response, not an unreachable server. A system error's code is E*/UND_ERR_*.
  return name === 'TypeError' || name === 'AbortError' || name === 'TimeoutError' || (typeof cause?.code === 'string' && /^(E[A-Z0-9_]+|UND_ERR_[A-Z_]+)$/.test(cause.code));
}

function unavailable(name: string, what: string, cause: unknown): OAuthError {
  // The cause is kept for debugging; it is an openid-client error (no token in it).
  return new OAuthError(OAuthErrorCode.Unavailable, `The "${name}" authorization server ${what}; retry shortly.`, { cause });
}
