import { docUrl } from './guides.js';
import type { Rule } from './rule.js';

/*
 * KW008: a session record in the store (Redis, or an export of it) that holds a key, token or
 * password in plain text: what KW007 finds in the code, found in the data it left behind. Reported
 * by `keyward legacy-sessions`; there is nothing to audit in source.
 */
export const plaintextSecretInSessionStore: Rule = {
  meta: {
    id: 'KW008',
    name: 'plaintext-secret-in-session-store',
    severity: 'high',
    title: 'Session record in the store holds a key or token in plain text',
    why:
      'Anyone who can read the store reads the key: an operator, a replica, `MONITOR`, a ' +
      'compromised host, and every RDB/AOF backup taken while the record was there. The record ' +
      'stays until its TTL ends, whether or not the app still reads it: moving to another session ' +
      'library leaves the old records, and the keys in them, behind.',
    fix:
      'Delete the records (`keyward legacy-sessions delete --yes`), then rotate every key and token ' +
      'they held at its provider: it was readable in Redis and stays in the backups. Keep keys in ' +
      "@keyward/nest's vault from now on: `Vault.putSession` with a `SessionKeyProvider`, `Vault.putUser` " +
      'with a `UserKeyProvider` for keys users bring, or a `ServerKeyProvider` for the app\'s own key.',
    example: [
      "# 1. see what is there (never prints a value), then delete exactly those records",
      "KEYWARD_REDIS_URL=rediss://:password@redis.internal:6380 npx keyward legacy-sessions scan",
      "KEYWARD_REDIS_URL=rediss://:password@redis.internal:6380 npx keyward legacy-sessions delete --yes",
      '# 2. rotate each exposed key at its provider (the report shows its last 4 characters)',
      "# 3. the app now stores keys with this.vault.putSession(session.storedRecord!, 'partner', key)",
    ].join('\n'),
    guide: docUrl('docs/migrating-from-express-session.md', 'clean-up-the-old-sessions'),
    sources: ['legacy-sessions'],
  },
};
