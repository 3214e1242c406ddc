import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import { DEFAULT_UPSTREAM_AUDIENCE, isLoopback } from './config.js';
import { DemoUsers } from './demo-users.js';
import { attachEventLog, consoleSink } from './event-log.js';
import { sendJson } from './http-io.js';
import { MemoryStore } from './memory.adapter.js';
import { providerConfiguration } from './provider.config.js';
import { handleAdmin } from './routes/admin.routes.js';
import { handleInteraction } from './routes/interaction.routes.js';
import { generateSigningKeys } from './signing-keys.js';
import type { IdpHandle, IdpOptions, RevocationRecord } from './types.js';

/** Refresh-token lifetime (seconds) unless `refreshTokenTtlS` says otherwise. */
export const DEFAULT_REFRESH_TOKEN_TTL_S = 24 * 3600;

function validateOptions(options: IdpOptions): void {
  const problems: string[] = [];
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) problems.push('port: an integer in 0..65535');
  if (!isLoopback(options.host ?? '127.0.0.1')) problems.push('host: a loopback address (127.0.0.1, ::1 or localhost)');
  if (!(options.users instanceof Map) || options.users.size === 0) problems.push('users: a non-empty Map of name -> password');
  if (typeof options.adminToken !== 'string' || options.adminToken.length === 0) problems.push('adminToken: a non-empty string');
  if (!Array.isArray(options.clients) || options.clients.length === 0) problems.push('clients: at least one client');
  for (const [name, value] of [['accessTokenTtlS', options.accessTokenTtlS], ['refreshTokenTtlS', options.refreshTokenTtlS]] as const) {
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 1)) problems.push(`${name}: a positive whole number of seconds`);
  }
  if (problems.length > 0) throw new TypeError(`startIdp: invalid options:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
}

/**
 * Starts the demo identity provider: panva's oidc-provider on loopback, issuer
 * `http://<host>:<port>`, with the demo users, its own sign-in page and the admin routes
 * tests use. State is in memory (lost on restart). Resolves once listening.
 *
 * @example
 * const idp = await startIdp({ users: new Map([['alice', 'alice-password']]), adminToken, clients: [client] });
 * // idp.issuer === 'http://127.0.0.1:<port>'
 * @throws TypeError listing every invalid option; rejects if listening fails.
 */
export async function startIdp(options: IdpOptions): Promise<IdpHandle> {
  validateOptions(options);
  const host = options.host ?? '127.0.0.1';
  const log = options.log ?? consoleSink;
  const users = new DemoUsers(options.users);
  const store = new MemoryStore();
  const revocations: RevocationRecord[] = [];
  const upstreamAudience = options.upstreamAudience ?? DEFAULT_UPSTREAM_AUDIENCE;

  let handler: ((req: IncomingMessage, res: ServerResponse) => Promise<void>) | undefined;
  const server: Server = createServer((req, res) => {
    res.on('error', () => {});
    req.on('error', () => {});
    (handler?.(req, res) ?? Promise.resolve(sendJson(res, 503, { error: 'starting' }))).catch(() => {
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: options.port ?? 0, host }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', () => {});
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  const provider = new Provider(
    issuer,
    providerConfiguration({
      clients: options.clients,
      users,
      store,
      signingKeys: options.signingKeys ?? generateSigningKeys(),
      upstreamAudience,
      upstreamClients: new Set(options.upstreamClients ?? []),
      accessTokenTtlS: options.accessTokenTtlS ?? 300,
      refreshTokenTtlS: options.refreshTokenTtlS ?? DEFAULT_REFRESH_TOKEN_TTL_S,
    }),
  );
  provider.proxy = false;
  attachEventLog(provider, log, revocations);

  async function logoutUser(username: string): Promise<{ sessions: number; backchannel: number }> {
    let sessions = 0;
    let backchannel = 0;
    for (const { id, payload } of store.live('Session')) {
      if (payload.accountId !== username) continue;
      const session = await provider.Session.find(id);
      if (session === undefined) continue;
      sessions++;
      for (const [clientId, authorization] of Object.entries(session.authorizations ?? {})) {
        const client = await provider.Client.find(clientId);
        const sid = session.sidFor(clientId);
        if (client?.backchannelLogoutUri !== undefined && sid !== undefined) {
          try {
            await (client as unknown as { backchannelLogout(sub: string, sid: string): Promise<void> }).backchannelLogout(username, sid);
            backchannel++;
            log({ time: new Date().toISOString(), service: 'demo-idp', event: 'backchannel.success', client: clientId, user: username, via: 'admin' });
          } catch (err) {
            log({ time: new Date().toISOString(), service: 'demo-idp', event: 'backchannel.error', client: clientId, user: username, via: 'admin', error: (err as Error).message.slice(0, 200) });
          }
        }
        const grantId = (authorization as { grantId?: string; persistsLogout?: boolean }).grantId;
        if (grantId !== undefined && (authorization as { persistsLogout?: boolean }).persistsLogout !== true) {
          store.revokeGrant(grantId);
          log({ time: new Date().toISOString(), service: 'demo-idp', event: 'grant.revoked', client: clientId, user: username, via: 'admin' });
        }
      }
      await session.destroy();
    }
    log({ time: new Date().toISOString(), service: 'demo-idp', event: 'admin.logout', user: username, sessions, backchannel });
    return { sessions, backchannel };
  }

  function activeGrants(username: string, clientId?: string): number {
    return store.live('Grant').filter(({ payload }) => payload.accountId === username && (clientId === undefined || payload.clientId === clientId)).length;
  }

  let closing: Promise<void> | undefined;
  const handle: IdpHandle = {
    issuer,
    port,
    host,
    upstreamAudience,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
    revocations: () => revocations.map((r) => ({ ...r })),
    activeGrants,
    logoutUser,
  };

  const providerHandler = provider.callback();
  const interactions = { provider, users, log };
  const admin = { adminToken: options.adminToken, handle };
  handler = async (req, res) => {
    const raw = req.url ?? '/';
    const url = new URL(raw.startsWith('/') ? `http://idp.invalid${raw}` : 'http://idp.invalid/');
    if (url.pathname === '/admin' || url.pathname.startsWith('/admin/')) return handleAdmin(admin, req, res, url);
    if (url.pathname.startsWith('/interaction/')) return handleInteraction(interactions, req, res, url.pathname);
    await providerHandler(req, res);
  };
  return handle;
}
