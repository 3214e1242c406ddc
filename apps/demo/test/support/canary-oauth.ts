/**
 * The OAuth side of the canary harness (issues 24 and 25): the demo identity provider
 * in-process (its users are the planted demo users, its clients' secrets are canaries), the
 * token tap that tells the harness every token the app receives (see token-tap.ts), and the
 * OAuth phase of a combination: visitors who sign in with OpenID Connect, connect the
 * `demo-oauth` account, make proxied calls through it across refreshes, disconnect and
 * reconnect, and end by RP-initiated logout, back-channel logout, or not at all (so sealed
 * tokens are in the store when it is read). Every answer of the app is captured for the scan.
 *
 * The one token the app hands the browser on purpose is the ID token as `id_token_hint` in
 * the RP-initiated logout answer (OpenID Connect RP-Initiated Logout; docs/oidc-sign-in.md):
 * it is masked in that answer only, and counted.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { IdpHandle, IdpOptions } from '../../../demo-idp/dist/src/index.js';
import type { CanaryDetector } from './canary-detector.js';
import { OAuthBrowser, formActionOf, type Received } from './oauth-browser.js';

const IDP_INDEX = new URL('../../../../demo-idp/dist/src/index.js', import.meta.url).href;
/** The preload that writes received tokens to fd 3 (compiled next to this file). */
export const TOKEN_TAP = fileURLToPath(new URL('./token-tap.js', import.meta.url));
/** The demo upstream's audience for the provider's JWT access tokens. */
export const UPSTREAM_AUDIENCE = 'urn:keyward:demo-upstream';
const SIGNIN_CLIENT = 'keyward-demo';
const CONNECT_CLIENT = 'keyward-demo-oauth';
/**
 * Access tokens live 62 s and the demo's connection refreshes 60 s before expiry: a token is
 * due 2 s after it is issued, so the phase's calls cross several refreshes (each a new access
 * and a rotated refresh token, both learned through the tap).
 */
const ACCESS_TOKEN_TTL_S = 62;
const DUE_AFTER_MS = 2_200;

const FIELD_KIND = { access_token: 'oauth-access-token', refresh_token: 'oauth-refresh-token', id_token: 'oauth-id-token' } as const;

/** The identity provider of one combination and what the harness learns through the tap. */
export class OAuthSide {
  /** Tokens learned through the tap, by field. */
  readonly learned = { access_token: 0, refresh_token: 0, id_token: 0 };
  private pending = '';

  private constructor(
    readonly idp: IdpHandle,
    /** The provider's log lines (JSON), scanned too. */
    readonly idpLog: string[],
    readonly env: Record<string, string>,
    private readonly detector: CanaryDetector,
  ) {}

  /**
   * Starts the demo identity provider on `idpPort` with the app's clients registered for
   * `appPort` (their secrets planted as canaries); `env` is what the demo app needs to use it.
   */
  static async start(o: { idpPort: number; appPort: number; users: Array<{ name: string; password: string }>; adminToken: string; detector: CanaryDetector }): Promise<OAuthSide> {
    const mod = (await import(IDP_INDEX)) as { startIdp(options: IdpOptions): Promise<IdpHandle> };
    const app = `http://127.0.0.1:${o.appPort}`;
    const signinSecret = `kwcanary-oidc-client-${randomBytes(20).toString('hex')}`;
    const connectSecret = `kwcanary-oauth-client-${randomBytes(20).toString('hex')}`;
    o.detector.add({ kind: 'oauth-client-secret', label: 'OIDC sign-in client secret', value: signinSecret });
    o.detector.add({ kind: 'oauth-client-secret', label: 'demo-oauth client secret', value: connectSecret });
    const idpLog: string[] = [];
    const idp = await mod.startIdp({
      port: o.idpPort,
      users: new Map(o.users.map((u) => [u.name, u.password])),
      adminToken: o.adminToken,
      clients: [
        { clientId: SIGNIN_CLIENT, clientSecret: signinSecret, redirectUris: [`${app}/api/auth/oidc/callback`], postLogoutRedirectUris: [`${app}/`], backchannelLogoutUri: `${app}/api/auth/oidc/backchannel-logout` },
        { clientId: CONNECT_CLIENT, clientSecret: connectSecret, redirectUris: [`${app}/api/connect/demo-oauth/callback`], postLogoutRedirectUris: [`${app}/`] },
      ],
      upstreamAudience: UPSTREAM_AUDIENCE,
      upstreamClients: [CONNECT_CLIENT],
      accessTokenTtlS: ACCESS_TOKEN_TTL_S,
      log: (line) => idpLog.push(JSON.stringify(line)),
    });
    const env = {
      DEMO_IDP_ISSUER: idp.issuer,
      DEMO_IDP_SIGNIN_CLIENT_ID: SIGNIN_CLIENT,
      DEMO_IDP_SIGNIN_CLIENT_SECRET: signinSecret,
      DEMO_IDP_CONNECT_CLIENT_ID: CONNECT_CLIENT,
      DEMO_IDP_CONNECT_CLIENT_SECRET: connectSecret,
    };
    return new OAuthSide(idp, idpLog, env, o.detector);
  }

  /** Bytes from the app's fd 3 (the tap): one JSON line per token received. */
  onTap(chunk: Buffer): void {
    this.pending += chunk.toString('utf8');
    let nl: number;
    while ((nl = this.pending.indexOf('\n')) >= 0) {
      const line = this.pending.slice(0, nl);
      this.pending = this.pending.slice(nl + 1);
      const { field, value } = JSON.parse(line) as { field: keyof typeof FIELD_KIND; value: string };
      if (!(field in FIELD_KIND)) continue;
      this.learned[field]++;
      this.detector.add({ kind: FIELD_KIND[field], label: `${field.replace('_', ' ')} #${this.learned[field]}`, value });
    }
  }

  get tokens(): number {
    return this.learned.access_token + this.learned.refresh_token + this.learned.id_token;
  }

  close(): Promise<void> {
    return this.idp.close();
  }
}

/** Where the OAuth phase writes what it saw: the combination's traffic record. */
export interface TrafficSink {
  readonly responses: Array<{ source: string; bytes: Buffer }>;
  readonly statusCounts: Map<string, number>;
  readonly unexpected: string[];
  requests: number;
}

/** One OAuth visitor: a browser across the app and the provider, its answers counted and kept. */
class OAuthVisitor {
  readonly browser: OAuthBrowser;
  private kept = 0;
  constructor(
    readonly app: string,
    readonly user: { name: string; password: string },
    private readonly sink: TrafficSink,
    private readonly detector: CanaryDetector,
    private readonly hints: { masked: number; detected: number },
  ) {
    this.browser = new OAuthBrowser(app);
  }

  check(name: string, r: Received, expect: number[]): Received {
    const key = `${name} ${r.status}`;
    this.sink.statusCounts.set(key, (this.sink.statusCounts.get(key) ?? 0) + 1);
    if (!expect.includes(r.status)) this.sink.unexpected.push(`${name}: ${r.url.slice(0, 100)} -> ${r.status} (expected ${expect.join('|')}) ${r.body.slice(0, 160)}`);
    return r;
  }

  /** Moves what the browser received from the app (not from the provider) into the sink, masking an allowed `id_token_hint`. */
  flush(allowedHint?: string): void {
    const entries = this.browser.transcript.slice(this.kept);
    this.kept = this.browser.transcript.length;
    for (const entry of entries) {
      const [first] = entry.split('\n', 1);
      const url = first!.split(' ')[1] ?? '';
      if (!url.startsWith(`${this.app}/`)) continue;
      this.sink.requests++;
      let text = entry;
      if (allowedHint && text.includes(allowedHint)) {
        // Unmasked, the detector must see it as a learned ID token: proof the tap and the scan are not blind.
        if (this.detector.scan('id_token_hint probe', Buffer.from(text, 'utf8')).some((h) => h.kind === 'oauth-id-token')) this.hints.detected++;
        text = text.split(allowedHint).join('«id_token_hint of this logout»');
        this.hints.masked++;
      }
      this.sink.responses.push({ source: `oauth ${this.user.name} ${first!.slice(0, 90)}`, bytes: Buffer.from(text, 'utf8') });
    }
  }

  /** A top-level navigation through the provider; signs in on its form when it shows one. */
  async throughProvider(name: string, start: string): Promise<Received> {
    const first = this.check(`${name}-start`, await this.browser.request(start), [302]);
    let page = await this.browser.navigate(new URL(first.headers.get('location') ?? '/', first.url));
    // The provider's sign-in form (not the app's own page, which has a password form too).
    if (page.status === 200 && !page.url.startsWith(`${this.app}/`) && /name="password"/.test(page.body)) {
      page = await this.browser.navigate(formActionOf(page.body, page.url), { username: this.user.name, password: this.user.password });
    }
    if (!page.url.startsWith(`${this.app}/`)) this.sink.unexpected.push(`${name}: ended at ${page.url.slice(0, 100)}, not back at the app`);
    return this.check(name, page, [200]);
  }

  api(name: string, method: string, path: string, expect: number[]): Promise<Received> {
    return this.browser.api(method, path).then((r) => this.check(name, r, expect));
  }
}

/**
 * The OAuth phase: `users.length` visitors at once, each a distinct demo user. Returns how
 * many RP-initiated logout answers had their id_token_hint masked, and in how many of those
 * the detector, shown the answer unmasked, found a learned ID token (it must be all).
 */
export async function runOAuthPhase(app: string, side: OAuthSide, users: Array<{ name: string; password: string }>, sink: TrafficSink, detector: CanaryDetector): Promise<{ masked: number; detected: number }> {
  const hints = { masked: 0, detected: 0 };
  await Promise.all(users.map(async (user, w) => {
    const v = new OAuthVisitor(app, user, sink, detector, hints);
    try {
      await v.throughProvider('oidc-signin', '/api/auth/oidc/login?returnTo=/');
      await v.api('oidc-user', 'GET', '/api/auth/user?slide=false', [200]);
      await v.api('oauth-not-connected', 'GET', '/api/proxy/demo-oauth/echo', [401]);
      await v.throughProvider('oauth-connect', '/api/connect/demo-oauth?returnTo=/');
      await v.api('oauth-connections', 'GET', '/api/connections', [200]);
      // Calls across refreshes: each batch comes when the access token is due again.
      for (let batch = 0; batch < 3; batch++) {
        await Promise.all(Array.from({ length: 4 }, (_, k) => v.api('oauth-call', 'GET', `/api/proxy/demo-oauth/echo?b=${batch}&k=${k}`, [200])));
        await v.api('oauth-call-post', 'POST', `/api/proxy/demo-oauth/echo?b=${batch}`, [200]);
        await sleep(DUE_AFTER_MS);
      }
      await v.api('oauth-upstream-401', 'GET', '/api/proxy/demo-oauth/status/401', [401, 502]);
      await v.api('oauth-disconnect', 'DELETE', '/api/connections/demo-oauth', [204]);
      await v.api('oauth-after-disconnect', 'GET', '/api/proxy/demo-oauth/echo', [401]);
      await v.throughProvider('oauth-reconnect', '/api/connect/demo-oauth?returnTo=/');
      await v.api('oauth-call', 'GET', '/api/proxy/demo-oauth/echo?again=1', [200]);
      v.flush();
      if (w % 3 === 0) {
        const out = await v.api('oidc-rp-logout', 'POST', '/api/auth/oidc/logout', [200]);
        const hint = out.status === 200 ? (new URL(out.json().redirectTo as string).searchParams.get('id_token_hint') ?? undefined) : undefined;
        await v.api('oidc-after-logout', 'GET', '/api/auth/user?slide=false', [401]);
        v.flush(hint);
      } else if (w % 3 === 1) {
        const ended = await side.idp.logoutUser(user.name);
        sink.statusCounts.set(`oidc-backchannel-sent ${ended.backchannel > 0 ? 'yes' : 'no'}`, (sink.statusCounts.get(`oidc-backchannel-sent ${ended.backchannel > 0 ? 'yes' : 'no'}`) ?? 0) + 1);
        await v.api('oidc-after-backchannel', 'GET', '/api/auth/user?slide=false', [401]);
      }
      // w % 3 === 2: left signed in and connected, so the store holds its sealed tokens when read.
    } catch (e) {
      sink.unexpected.push(`oauth visitor ${user.name}: ${e instanceof Error ? e.message : String(e)}`.slice(0, 300));
    } finally {
      v.flush();
    }
  }));
  return hints;
}
