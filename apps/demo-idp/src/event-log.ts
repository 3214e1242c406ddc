import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { RevocationRecord } from './types.js';

/** Where one log line goes: a plain object, written as one JSON line. */
export type LogSink = (line: Record<string, unknown>) => void;

/** Writes `{time, service, event, ...}` as one JSON line on stdout. */
export const consoleSink: LogSink = (line) => console.log(JSON.stringify(line));

/** Tokens the revocation endpoint can revoke. */
const REVOCABLE = ['AccessToken', 'RefreshToken', 'ClientCredentials'] as const;

function clientOf(ctx: KoaContextWithOIDC | undefined): string | undefined {
  try {
    return ctx?.oidc?.client?.clientId;
  } catch {
    return undefined;
  }
}

/** An OAuth error's public code and description, never a token or a stack. */
function errorOf(err: unknown): Record<string, unknown> {
  const e = err as { error?: unknown; error_description?: unknown; name?: unknown; message?: unknown };
  if (typeof e?.error === 'string') return { error: e.error, description: e.error_description };
  return { error: typeof e?.name === 'string' ? e.name : 'Error', description: typeof e?.message === 'string' ? e.message.slice(0, 200) : undefined };
}

/**
 * Logs one line per interaction, grant, revocation and logout, with client ids, user
 * names, prompt names and error codes only: no token, code, cookie, secret or password
 * ever reaches these lines. Revocations are also kept in `revocations` for tests.
 */
export function attachEventLog(provider: Provider, log: LogSink, revocations: RevocationRecord[]): void {
  const write = (event: string, ctx: KoaContextWithOIDC | undefined, extra: Record<string, unknown> = {}): void =>
    log({ time: new Date().toISOString(), service: 'demo-idp', event, client: clientOf(ctx), ...extra });

  provider.on('interaction.started', (ctx, prompt) => write('interaction.started', ctx, { prompt: prompt.name, reasons: prompt.reasons }));
  provider.on('interaction.ended', (ctx) => write('interaction.ended', ctx));
  provider.on('authorization.success', (ctx) => write('authorization.success', ctx));
  provider.on('authorization.error', (ctx, err) => write('authorization.error', ctx, errorOf(err)));
  provider.on('grant.success', (ctx) => write('grant.success', ctx, { grantType: ctx.oidc.params?.['grant_type'] }));
  provider.on('grant.error', (ctx, err) => write('grant.error', ctx, errorOf(err)));
  provider.on('grant.revoked', (ctx) => write('grant.revoked', ctx));
  provider.on('revocation.error', (ctx, err) => write('revocation.error', ctx, errorOf(err)));
  provider.on('end_session.success', (ctx) => write('end_session.success', ctx));
  provider.on('end_session.error', (ctx, err) => write('end_session.error', ctx, errorOf(err)));
  provider.on('backchannel.success', (ctx, client, accountId) => write('backchannel.success', ctx, { client: client.clientId, user: accountId }));
  provider.on('backchannel.error', (ctx, err, client, accountId) => write('backchannel.error', ctx, { client: client.clientId, user: accountId, ...errorOf(err) }));
  provider.on('server_error', (ctx, err) => write('server_error', ctx, errorOf(err)));

  // The revocation endpoint emits no success event: record what it revoked after it ran.
  provider.use(async (ctx, next) => {
    await next();
    const oidc = (ctx as Partial<KoaContextWithOIDC>).oidc;
    if (oidc === undefined || oidc.route !== 'revocation' || ctx.status !== 200) return;
    for (const tokenType of REVOCABLE) {
      const token = oidc.entities[tokenType] as { clientId?: string; accountId?: string } | undefined;
      if (token === undefined) continue;
      const record: RevocationRecord = { tokenType, clientId: token.clientId ?? 'unknown', accountId: token.accountId ?? null, at: new Date().toISOString() };
      revocations.push(record);
      if (revocations.length > 1000) revocations.shift();
      write('revocation.success', ctx as unknown as KoaContextWithOIDC, { tokenType, user: record.accountId });
    }
  });
}
