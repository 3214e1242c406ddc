import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import Provider from 'oidc-provider';
import { SignJWT, decodeJwt, generateKeyPair, importJWK, type JWTPayload } from 'jose';
import { freePort } from './redis-server.js';

/**
 * A real authorization server for the library's tests: panva's `oidc-provider` (OpenID
 * Certified), in-process on a free loopback port, with its own signing key, an in-memory
 * adapter the test can look into, refresh-token rotation and revocation on, PKCE required.
 * Its login page is driven by HTTP: `GET /interaction/:uid` answers JSON, `POST
 * /interaction/:uid/login` (form `login=<user>`) signs in and grants consent, `POST
 * /interaction/:uid/deny` answers the client with `error=access_denied`.
 * Never imports the demo's identity provider.
 */
export interface TestIdp {
  /** The issuer (`http://127.0.0.1:<port>`). */
  readonly issuer: string;
  /**
   * Registers (or replaces) a confidential client: with a secret (`client_secret_basic`),
   * or with `jwks`, the public half of its key, for `private_key_jwt` (no secret then).
   * `backchannelLogoutUri` (with `backchannel_logout_session_required`) makes its ID
   * tokens carry `sid`.
   */
  addClient(c: { clientId: string; clientSecret?: string; jwks?: { keys: object[] }; redirectUris: string[]; postLogoutRedirectUris?: string[]; backchannelLogoutUri?: string }): void;
  /** Token and revocation requests by client authentication method as the provider saw it (`client_secret_basic`, `private_key_jwt`, ...). */
  clientAuthentications(method: string): number;
  /**
   * A back-channel logout token for a client, made by the provider's own code (as
   * `Client#backchannelLogout` makes it), returned instead of sent: the provider refuses
   * to POST to loopback addresses, so the test delivers it.
   */
  logoutToken(clientId: string, sub: string, sid: string | undefined): Promise<string>;
  /** Signs claims as a JWT with the provider's key (or, `foreignKey`, a key it does not publish), for forged logout tokens. */
  signJwt(claims: JWTPayload, opts?: { foreignKey?: boolean; kid?: string; typ?: string }): Promise<string>;
  /**
   * Rewrites the ID token of the next token responses (until called with undefined): its
   * claims through `edit`, signed again with the provider's key (or a `foreignKey`).
   */
  tamperIdTokens(t: { edit?: (claims: JWTPayload) => JWTPayload; foreignKey?: boolean } | undefined): void;
  /**
   * Whether revoking a refresh token also revokes the user's grant (consent), as
   * oidc-provider does by default (true). False plays a provider whose consent outlives tokens.
   */
  setRevokeGrants(revoke: boolean): void;
  /** Every token value the server issued (access, refresh, ID tokens, codes), for leak searches. */
  issuedSecrets(): string[];
  /** True while an access token the server issued is neither expired nor revoked. */
  isActiveAccessToken(token: string): boolean;
  /** Requests at the token endpoint by grant type (`authorization_code`, `refresh_token`). */
  tokenRequests(grantType: string): number;
  /** Successful RFC 7009 revocations, by token type hint as received. */
  revocations(): Array<{ hint: string; status: number }>;
  /**
   * Refresh tokens the server would still redeem (issued, neither consumed by a rotation,
   * revoked nor expired), of the accounts and clients given: the revocation evidence.
   */
  liveRefreshTokens(filter?: { accountId?: string; clientId?: string }): number;
  /** Grants (consents) the server still holds for an account. */
  liveGrants(accountId: string): number;
  /** Makes the revocation endpoint answer 503 (the server "down" for revocation) until called with false. */
  setRevocationEndpointDown(down: boolean): void;
  /** Revokes every grant (so the next refresh answers `invalid_grant`). */
  revokeAllGrants(): Promise<void>;
  /** Access token lifetime in seconds for tokens issued from now on. */
  setAccessTokenTtl(seconds: number): void;
  /** Makes the token endpoint answer 503 (the server "down") until called with false. */
  setTokenEndpointDown(down: boolean): void;
  close(): Promise<void>;
}

type Stored = { payload: Record<string, unknown>; expiresAt: number };

/** The server's storage, by model: kept in the open so the test can see what was issued and revoked. */
const models = new Map<string, Map<string, Stored>>();
const model = (name: string): Map<string, Stored> => {
  let m = models.get(name);
  if (!m) models.set(name, (m = new Map()));
  return m;
};
/** Static clients of the running servers, by client id (looked up by the adapter's `Client` model). */
const clients = new Map<string, Record<string, unknown>>();

class MemoryAdapter {
  constructor(private readonly name: string) {}
  async upsert(id: string, payload: Record<string, unknown>, expiresIn: number): Promise<void> {
    model(this.name).set(id, { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : Infinity });
    if (typeof payload.grantId === 'string') model('grant-index').set(`${payload.grantId}|${this.name}|${id}`, { payload: {}, expiresAt: Infinity });
  }
  async find(id: string): Promise<Record<string, unknown> | undefined> {
    if (this.name === 'Client') return clients.get(id);
    const s = model(this.name).get(id);
    return s && s.expiresAt > Date.now() ? s.payload : undefined;
  }
  async findByUserCode(): Promise<undefined> {
    return undefined;
  }
  async findByUid(uid: string): Promise<Record<string, unknown> | undefined> {
    for (const s of model(this.name).values()) if (s.payload.uid === uid) return s.payload;
    return undefined;
  }
  async consume(id: string): Promise<void> {
    const s = model(this.name).get(id);
    if (s) s.payload.consumed = Math.floor(Date.now() / 1000);
  }
  async destroy(id: string): Promise<void> {
    model(this.name).delete(id);
  }
  async revokeByGrantId(grantId: string): Promise<void> {
    for (const key of [...model('grant-index').keys()]) {
      const [g, m, id] = key.split('|');
      if (g !== grantId) continue;
      model(m!).delete(id!);
      model('grant-index').delete(key);
    }
  }
}

export async function startTestIdp(): Promise<TestIdp> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'test-idp-1', alg: 'RS256', use: 'sig' };
  let accessTtl = 3600;
  let tokenDown = false;
  let revocationDown = false;
  const tokenCounts = new Map<string, number>();
  const authCounts = new Map<string, number>();
  const revocationLog: Array<{ hint: string; status: number }> = [];
  const issued = new Set<string>();
  const signingKey = await importJWK(jwk, 'RS256');
  const foreign = (await generateKeyPair('RS256')).privateKey;
  let revokeGrants = true;
  let tamper: { edit?: (claims: JWTPayload) => JWTPayload; foreignKey?: boolean } | undefined;
  const sign = (claims: JWTPayload, opts: { foreignKey?: boolean; kid?: string; typ?: string } = {}): Promise<string> =>
    new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: opts.kid ?? (opts.foreignKey ? 'not-published' : jwk.kid), ...(opts.typ ? { typ: opts.typ } : {}) }).sign(opts.foreignKey ? foreign : signingKey);

  const provider = new Provider(issuer, {
    adapter: MemoryAdapter as never,
    jwks: { keys: [jwk as never] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    renderError: async (ctx: { type: string; body: unknown }, out: Record<string, string>) => {
      ctx.type = 'json';
      ctx.body = out;
    },
    features: { devInteractions: { enabled: false }, revocation: { enabled: true }, backchannelLogout: { enabled: true }, rpInitiatedLogout: { enabled: true } },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    findAccount: async (_ctx: unknown, sub: string) => ({ accountId: sub, claims: async () => ({ sub, name: sub }) }),
    claims: { openid: ['sub'], profile: ['name'] },
    // Scope claims (name) in the ID token too, as most providers put them, not only at userinfo.
    conformIdTokenClaims: false,
    scopes: ['openid', 'profile', 'offline_access', 'api:read'],
    pkce: { required: () => true },
    // Refresh tokens whatever the scope (not only with offline_access), rotated at every use.
    issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(t: string): boolean }) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: () => true,
    revokeGrantPolicy: (ctx: { oidc: { route: string; entities: Record<string, unknown> } }) =>
      ctx.oidc.route === 'revocation' && ctx.oidc.entities.AccessToken ? false : ctx.oidc.route === 'revocation' ? revokeGrants : true,
    ttl: {
      AccessToken: () => accessTtl,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
      RefreshToken: 86_400,
    },
  } as never);
  provider.proxy = false;
  provider.on('server_error', () => undefined);

  // Koa middleware: counts token requests and revocations as they happen (the test's "server log").
  provider.use(async (ctx: { path: string; method: string; status: number; body: unknown; oidc?: { params?: Record<string, unknown> } }, next: () => Promise<void>) => {
    if (ctx.path === '/token/revocation' && revocationDown) {
      ctx.status = 503;
      ctx.body = { error: 'temporarily_unavailable' };
      return;
    }
    if (ctx.path === '/token' && tokenDown) {
      ctx.status = 503;
      ctx.body = { error: 'temporarily_unavailable' };
      return;
    }
    await next();
    const client = (ctx.oidc as { client?: { clientAuthMethod?: string; tokenEndpointAuthMethod?: string } } | undefined)?.client;
    if ((ctx.path === '/token' || ctx.path === '/token/revocation') && ctx.method === 'POST' && ctx.status < 400 && client) {
      const m = String(client.clientAuthMethod ?? client.tokenEndpointAuthMethod);
      authCounts.set(m, (authCounts.get(m) ?? 0) + 1);
    }
    if (ctx.path === '/token' && ctx.method === 'POST') {
      const gt = String(ctx.oidc?.params?.grant_type ?? '');
      tokenCounts.set(gt, (tokenCounts.get(gt) ?? 0) + 1);
      const b = ctx.body as Record<string, unknown> | undefined;
      if (b && tamper && typeof b.id_token === 'string') b.id_token = await sign((tamper.edit ?? ((c) => c))({ ...decodeJwt(b.id_token) }), { foreignKey: tamper.foreignKey });
      for (const k of ['access_token', 'refresh_token', 'id_token']) if (b && typeof b[k] === 'string') issued.add(b[k] as string);
    }
    if (ctx.path === '/token/revocation' && ctx.method === 'POST') revocationLog.push({ hint: String(ctx.oidc?.params?.token_type_hint ?? ''), status: ctx.status });
  });

  const handler = provider.callback();
  const server: Server = createServer((req, res) => {
    const m = /^\/interaction\/([A-Za-z0-9_-]+)(\/login|\/deny)?$/.exec((req.url ?? '').split('?')[0]!);
    if (!m) return void handler(req, res);
    interaction(provider, req, res, m[2]).catch(() => {
      if (!res.headersSent) res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"interaction failed"}');
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));

  return {
    issuer,
    addClient: (c) => {
      clients.set(c.clientId, {
        client_id: c.clientId,
        ...(c.jwks ? { jwks: c.jwks, token_endpoint_auth_method: 'private_key_jwt' } : { client_secret: c.clientSecret, token_endpoint_auth_method: 'client_secret_basic' }),
        redirect_uris: c.redirectUris,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        ...(c.postLogoutRedirectUris ? { post_logout_redirect_uris: c.postLogoutRedirectUris } : {}),
        ...(c.backchannelLogoutUri ? { backchannel_logout_uri: c.backchannelLogoutUri, backchannel_logout_session_required: true } : {}),
      });
    },
    logoutToken: async (clientId, sub, sid) => {
      const client = await (provider as unknown as { Client: { find(id: string): Promise<unknown> } }).Client.find(clientId);
      const IdToken = (provider as unknown as { IdToken: new (claims: object, o: object) => { mask: object; set(k: string, v: unknown): void; issue(o: object): Promise<string> } }).IdToken;
      const token = new IdToken({ sub }, { client, ctx: undefined });
      token.mask = { sub: null };
      token.set('events', { 'http://schemas.openid.net/event/backchannel-logout': {} });
      token.set('jti', randomBytes(16).toString('base64url'));
      if (sid) token.set('sid', sid);
      return token.issue({ use: 'logout' });
    },
    signJwt: (claims, opts) => sign(claims, opts),
    tamperIdTokens: (t) => {
      tamper = t;
    },
    setRevokeGrants: (r) => {
      revokeGrants = r;
    },
    issuedSecrets: () => [...issued],
    isActiveAccessToken: (token) => {
      const s = model('AccessToken').get(token);
      return !!s && s.expiresAt > Date.now();
    },
    tokenRequests: (gt) => tokenCounts.get(gt) ?? 0,
    clientAuthentications: (m) => authCounts.get(m) ?? 0,
    liveRefreshTokens: (filter = {}) => {
      let n = 0;
      for (const { payload, expiresAt } of model('RefreshToken').values()) {
        if (expiresAt <= Date.now() || payload.consumed) continue;
        if (filter.accountId !== undefined && payload.accountId !== filter.accountId) continue;
        if (filter.clientId !== undefined && payload.clientId !== filter.clientId) continue;
        n++;
      }
      return n;
    },
    liveGrants: (accountId) => [...model('Grant').values()].filter((g) => g.payload.accountId === accountId && g.expiresAt > Date.now()).length,
    setRevocationEndpointDown: (d) => {
      revocationDown = d;
    },
    revocations: () => [...revocationLog],
    revokeAllGrants: async () => {
      for (const id of [...model('Grant').keys()]) {
        await new MemoryAdapter('Grant').revokeByGrantId(id);
        model('Grant').delete(id);
      }
    },
    setAccessTokenTtl: (s) => {
      accessTtl = s;
    },
    setTokenEndpointDown: (d) => {
      tokenDown = d;
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/** The login page: JSON details on GET; a form POST signs in (and grants every requested scope) or denies. */
async function interaction(provider: Provider, req: IncomingMessage, res: ServerResponse, action: string | undefined): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  if (!action) {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ uid: details.uid, prompt: details.prompt.name, clientId: details.params.client_id }));
    return;
  }
  const body = new URLSearchParams(await readBody(req));
  if (action === '/deny') {
    await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'The user said no.' }, { mergeWithLastSubmission: false });
    return;
  }
  const accountId = body.get('login') ?? 'alice';
  const grant = new provider.Grant({ accountId, clientId: String(details.params.client_id) });
  grant.addOIDCScope(String(details.params.scope ?? 'openid'));
  // The claims of those scopes too, so a later prompt=none finds nothing left to consent to.
  grant.addOIDCClaims(['sub', 'name']);
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { login: { accountId }, consent: { grantId } }, { mergeWithLastSubmission: false });
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
