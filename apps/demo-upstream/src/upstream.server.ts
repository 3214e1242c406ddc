import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AccessTokenVerifier } from './access-tokens.js';
import { headerNames, parseTarget, sendError } from './http-io.js';
import { KeyRegistry } from './key-registry.js';
import { handleAdmin } from './routes/admin.routes.js';
import type { RouteContext } from './routes/context.js';
import { handleInternal } from './routes/internal.routes.js';
import { handleV1 } from './routes/v1.routes.js';
import { StatsRecorder } from './stats-recorder.js';
import type { UpstreamHandle, UpstreamOptions } from './types.js';

/** Default lifetime of minted keys: 24 hours. */
export const DEFAULT_MINTED_KEY_TTL_MS = 24 * 60 * 60 * 1000;
/** Idle keep-alive connections are kept this long. */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

function validateOptions(options: UpstreamOptions): void {
  if (options === null || typeof options !== 'object') throw new TypeError('options are required');
  if (!Array.isArray(options.serverKeys)) throw new TypeError('serverKeys must be an array');
  if (typeof options.adminToken !== 'string' || options.adminToken.length === 0) {
    throw new TypeError('adminToken must be a non-empty string');
  }
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError('port must be an integer in 0..65535');
  const tokens = options.accessTokens;
  if (tokens !== undefined) {
    if (tokens === null || typeof tokens !== 'object') throw new TypeError('accessTokens must be {issuer, audience}');
    for (const name of ['issuer', 'audience'] as const) {
      if (typeof tokens[name] !== 'string' || tokens[name].length === 0) throw new TypeError(`accessTokens.${name} must be a non-empty string`);
    }
    if (tokens.algorithms !== undefined && (tokens.algorithms.length === 0 || tokens.algorithms.some((a) => !/^(RS|PS|ES)(256|384|512)$|^EdDSA$/.test(a)))) {
      throw new TypeError('accessTokens.algorithms must list asymmetric JWS algorithms (RS*, PS*, ES*, EdDSA)');
    }
  }
  const ttl = options.mintedKeyTtlMs;
  if (ttl !== undefined && (!Number.isSafeInteger(ttl) || ttl < 1)) {
    throw new RangeError('mintedKeyTtlMs must be a positive integer');
  }
}

/** Routes one request. Never throws: failures become a 500 or a dropped socket. */
async function dispatch(
  req: IncomingMessage,
  res: ServerResponse,
  shared: Pick<RouteContext, 'registry' | 'stats' | 'adminToken' | 'accessTokens'>,
): Promise<void> {
  const method = (req.method ?? 'GET').toUpperCase();
  const names = headerNames(req);
  const target = parseTarget(req.url);
  shared.stats.record(method, target?.rawPath ?? String(req.url ?? ''), names);
  if (target === null) {
    sendError(res, 400, 'malformed request target');
    return;
  }
  const ctx: RouteContext = { req, res, method, headerNames: names, ...target, ...shared };
  const path = target.routePath;
  if (path.startsWith('/v1/')) return handleV1(ctx);
  if (path === '/admin' || path.startsWith('/admin/')) return handleAdmin(ctx);
  if (path === '/internal' || path.startsWith('/internal/')) return handleInternal(ctx);
  sendError(res, 404, 'not found');
}

/**
 * Starts the demo upstream: a small HTTP API (node:http only) that stands in for a
 * third-party service taking API keys. See the package README / DEMO-CONTRACT for routes.
 *
 * Key values are never logged. Resolves once the server is listening.
 *
 * @param options - keys, admin token, bind address; see {@link UpstreamOptions}.
 * @returns a handle with the bound URL, `close()` and in-process test helpers.
 * @throws TypeError / RangeError for invalid options; rejects if listening fails (e.g. EADDRINUSE).
 */
export async function startUpstream(options: UpstreamOptions): Promise<UpstreamHandle> {
  validateOptions(options);
  const host = options.host ?? '127.0.0.1';
  const registry = new KeyRegistry({
    serverKeys: options.serverKeys,
    defaultTtlMs: options.mintedKeyTtlMs ?? DEFAULT_MINTED_KEY_TTL_MS,
  });
  const stats = new StatsRecorder();
  const accessTokens = options.accessTokens === undefined ? null : new AccessTokenVerifier(options.accessTokens);
  const shared = { registry, stats, adminToken: options.adminToken, accessTokens };

  const server: Server = createServer((req, res) => {
    res.on('error', () => {}); // a vanished client is not our problem
    req.on('error', () => {});
    dispatch(req, res, shared).catch(() => {
      if (!res.headersSent) sendError(res, 500, 'internal error');
      else res.destroy();
    });
  });
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1_000;

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen({ port: options.port ?? 0, host }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', () => {}); // after listening, errors are per-connection

  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  let closing: Promise<void> | undefined;

  return {
    url,
    port,
    host,
    get serverKeyIds() {
      return registry.serverKeyIds;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
    mint: (mintOptions) => registry.mint(mintOptions),
    revoke: (id) => registry.revoke(id),
    keyStatus: (id) => registry.status(id),
    addServerKey: (key, id) => registry.addServerKey(key, id),
    removeServerKey: (id) => registry.removeServerKey(id),
    stats: () => stats.snapshot(),
    adminStats: () => ({ ...registry.counts(), requests: stats.requests }),
    resetStats: () => stats.reset(),
  };
}
