import ts from '../typescript.cjs';
import { type AnalysisContext, type Taint, tokenNameKind } from '../audit/engine/analysis-context.js';
import { NON_SENSITIVE_COOKIE_NAME, capitalise } from '../audit/engine/ast.js';
import { sessionWrites } from '../audit/engine/session-writes.js';
import { maskSecret } from '../secrets/secret-detector.js';
import type { Rule } from './rule.js';
import { MIGRATION_GUIDE, docUrl } from './guides.js';

/*
 * KW001: a key or a provider's token written where the client can read it: a cookie value
 * (also inside a JWT put in a cookie), or a client-side session (cookie-session, secure-session,
 * iron-session, a passport serializer over one). Tokens count here when they are a bearer token,
 * a PKCE verifier, or the provider's tokens — known by where they come from (an OAuth library's
 * result, a token-endpoint response, a passport verify callback), not by their name. In a cookie
 * page scripts can read (no HttpOnly), any token counts, the app's own session JWT included: that
 * is the XSS case. The app's own token in an HttpOnly cookie is KW002's business (Secure, SameSite).
 */

/** The taint of a value written to a cookie or a client-side session. */
export function clientVisibleTaint(ctx: AnalysisContext, node: ts.Node | undefined): Taint | undefined {
  return ctx.sinkTaint(node, 'provider-token');
}

function checkCookieWrite(ctx: AnalysisContext, call: ts.CallExpression): void {
  const w = ctx.cookieWriteOf(call);
  if (!w) return;
  // a cookie page scripts can read holds any token (the app's own session JWT included: the XSS case);
  // a CSRF double-submit cookie is meant to be read by scripts
  const readable = ctx.cookieReadableByScripts(w) && !(w.cookieName !== undefined && NON_SENSITIVE_COOKIE_NAME.test(w.cookieName));
  const t = ctx.sinkTaint(w.valueArg, readable ? 'readable-cookie' : 'provider-token');
  if (!t) return;
  // a value only named `token` counts when the cookie's name says it holds one too (`token`, `jwt`)
  if (t.kind === 'named-token' && t.nameKind !== 'oauth' && !(w.cookieName !== undefined && (tokenNameKind(w.cookieName) || /jwt|auth/i.test(w.cookieName)))) return;
  // a PKCE verifier in a short-lived HttpOnly cookie is the usual (and accepted) way to carry it
  if (t.kind === 'verifier' && !readable) return;
  const how = readable
    ? `${w.header ? 'a Set-Cookie header without HttpOnly' : `${w.label} without HttpOnly`}: any script in the page (XSS) can read it and use it`
    : `${w.label}: anyone holding the cookie can read it`;
  ctx.report(
    'KW001',
    'high',
    call,
    `${capitalise(t.label)} is written into ${how}`,
    t.literal ? maskSecret(t.literal.text) : undefined,
    t.literal ? [t.literal] : [],
  );
}

export const secretInClientSessionOrCookie: Rule = {
  meta: {
  id: 'KW001',
  name: 'secret-in-client-session-or-cookie',
  severity: 'high',
  title: 'API key or secret stored in a cookie or a client-side session',
  why:
    'A cookie is sent to and kept by the browser. Signed is not encrypted: anyone holding the ' +
    'cookie (the user, malware, an XSS payload when HttpOnly is missing, a proxy log, a network ' +
    'observer when Secure is missing) decodes it and reads the key. cookie-session and JWT cookies ' +
    'put the whole session object into the cookie, so a key stored "in the session" is in the cookie.',
  fix:
    'Keep the key on the server and put only an opaque, signed, random session ID in the cookie. ' +
    'With @keyward/nest, `KeywardModule.forRoot({ session: { secrets, store } })` issues that cookie; ' +
    "a user's key goes into the encrypted vault with `Vault.putSession` (or `Vault.putUser` for a key " +
    'the user brings, read by a `UserKeyProvider`), the app\'s own key comes from a `ServerKeyProvider`, ' +
    'and the proxy (`proxy.services`) attaches it to upstream calls, so the browser never holds it. ' +
    'An OAuth token from a provider (a passport strategy, openid-client) becomes a connected account ' +
    '(`oauth.connections`): Keyward runs the flow, seals the tokens and the proxy attaches them; see ' +
    'docs/connected-accounts.md#moving-a-passport-or-rescookietoken--app. ' +
    'Moving from express-session: see the migration guide.',
  example: [
    "import { CurrentSession, KeywardModule, RedisStore, RequestSession, SessionKeyProvider, Vault } from '@keyward/nest';",
    '// app.module.ts: the cookie carries a signed random ID; the key is sealed in the vault',
    'KeywardModule.forRoot({',
    "  session: { secrets: process.env.KEYWARD_SESSION_SECRETS!.split(','), store: new RedisStore({ url: process.env.REDIS_URL! }) },",
    "  vault: { keys: process.env.KEYWARD_VAULT_KEYS!.split(',') },",
    '  credentials: { partner: new SessionKeyProvider() },',
    "  proxy: { services: { partner: { baseUrl: 'https://api.partner.example/', credential: 'partner' } } },",
    '});',
    '// keys.controller.ts (constructor(private readonly vault: Vault)): the browser then calls /api/proxy/partner/...',
    "@Post('keys') async save(@CurrentSession() session: RequestSession, @Body() dto: KeyDto) {",
    "  await this.vault.putSession(session.storedRecord!, 'partner', dto.apiKey); // encrypted, bound to the session",
    '}',
  ].join('\n'),
  guide: MIGRATION_GUIDE,
  sources: ['audit', 'probe'],
},
  visit(node, ctx) {
    if (ts.isCallExpression(node)) checkCookieWrite(ctx, node);
    if (!ctx.sessionKind.client) return;
    for (const w of sessionWrites(node, ctx)) {
      const t = w.taint;
      ctx.report(
        'KW001',
        'high',
        w.at,
        `${capitalise(t.label)} is stored in a client-side session (the whole session travels in the cookie): anyone holding the cookie can read it`,
        t.literal ? maskSecret(t.literal.text) : undefined,
        t.literal ? [t.literal] : [],
      );
    }
  },
};
