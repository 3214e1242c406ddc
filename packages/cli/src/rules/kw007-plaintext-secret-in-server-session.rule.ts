import ts from '../typescript.cjs';
import { sessionWrites } from '../audit/engine/session-writes.js';
import { capitalise } from '../audit/engine/ast.js';
import { maskSecret } from '../secrets/secret-detector.js';
import type { Rule } from './rule.js';
import { MIGRATION_GUIDE, docUrl } from './guides.js';

/*
 * KW007: a key or a provider's token kept in plain text in a server-side session. Not readable by
 * the client, but every store dump, backup and replica holds it in clear, and it outlives its use.
 */
export const plaintextSecretInServerSession: Rule = {
  meta: {
    id: 'KW007',
    name: 'plaintext-secret-in-server-session',
    severity: 'medium',
    title: 'API key or provider token kept in plain text in a server-side session',
    why:
      'A server-side session store (Redis, a database, memory) is not the client, but it is read by ' +
      'backups, replicas, monitoring and anyone with store access; a key kept there in plain text ' +
      'leaks with any dump of the store and lives as long as the session record.',
    fix:
      'Keep keys in a vault: encrypted at rest (envelope encryption with a key-encryption key outside ' +
      'the store), bound to the session id, removed when the session ends. Keep only a reference in ' +
      'the session. With @keyward/nest, `Vault.putSession` seals the key (AES-256-GCM, bound to the ' +
      'session), a `SessionKeyProvider` hands it to the proxy (`proxy.services`) or to ' +
      '`CredentialService.use`, and logout and expiry delete it. Moving from express-session: the ' +
      'migration guide ends with `keyward legacy-sessions`, which finds and deletes the old records ' +
      'that still hold keys.',
    example: [
      "import { CurrentSession, RequestSession, SessionKeyProvider, Vault } from '@keyward/nest';",
      '// keys.controller.ts (constructor(private readonly vault: Vault))',
      "@Post('keys') async save(@CurrentSession() session: RequestSession, @Body() dto: KeyDto) {",
      "  await this.vault.putSession(session.storedRecord!, 'partner', dto.apiKey); // sealed, deleted on logout",
      "  await session.set('hasPartnerKey', true);                                  // the session holds a flag",
      '}',
      "// app.module.ts: credentials: { partner: new SessionKeyProvider() }",
    ].join('\n'),
    guide: MIGRATION_GUIDE,
    sources: ['audit'],
  },
  visit(node, ctx) {
    if (ctx.sessionKind.client || !ctx.sessionKind.server) return;
    if (!ts.isCallExpression(node) && !ts.isBinaryExpression(node)) return;
    for (const w of sessionWrites(node, ctx)) {
      const t = w.taint;
      ctx.report(
        'KW007',
        'medium',
        w.at,
        `${capitalise(t.label)} is kept in plain text in the server-side session: it leaks with any dump of the session store; keep it in a vault (encrypted, bound to the session) and store only a reference`,
        t.literal ? maskSecret(t.literal.text) : undefined,
        t.literal ? [t.literal] : [],
      );
    }
  },
};
