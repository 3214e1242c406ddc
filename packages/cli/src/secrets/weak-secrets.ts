/**
 * Well-known weak or placeholder signing secrets: values from framework documentation, tutorials
 * and advisories. The audit flags them in source; the probe tries them offline against signed
 * cookies. Compared case-sensitively as written and lower-cased.
 */
export const WEAK_SECRETS: readonly string[] = [
  // express-session / cookie-session / cookie-parser docs and tutorials
  'keyboard cat',
  'keyboard-cat',
  'my-secret',
  'mysecret',
  'my secret',
  'mySecret',
  'my_secret',
  'secret',
  'Secret',
  'SECRET',
  'secret1',
  'secret2',
  'secret-key',
  'secretKey',
  'secret_key',
  'supersecret',
  'super-secret',
  'super secret',
  'superSecret',
  'super-secret-key',
  'topsecret',
  'top-secret',
  'shhhh',
  'shhhhh',
  'shhhhhhared-secret',
  'sekrit',
  'session-secret',
  'sessionsecret',
  'session_secret',
  'your-secret',
  'your-secret-key',
  'your_secret_key',
  'yoursecret',
  'changeme',
  'change-me',
  'change_me',
  'changeit',
  'key1',
  'key2',
  'keys',
  'abc123',
  'password',
  'passw0rd',
  '123456',
  'default',
  'dev',
  'development',
  'test',
  'jwt-secret',
  'jwt_secret',
  'jwtsecret',
  'jwtSecret',
  'JWT_SECRET',
  'cookie-secret',
  'cookiesecret',
  // the advisory's own placeholder
  'change-this-to-a-secure-random-value',
  // NestJS docs: session, cookies, secure-session, JWT
  'averylogphrasebiggerthanthirtytwochars',
  'mq9hDxBVDbspDR6n',
  'a secret with minimum length of 32 characters',
  'DO NOT USE THIS VALUE. INSTEAD, CREATE A COMPLEX SECRET AND KEEP IT SAFE OUTSIDE OF THE SOURCE CODE.',
  'secretOrPrivateKey',
  // Fastify docs
  'a-secret-with-minimum-length-of-32-characters',
  'my-secret-key',
];

const LOWER = new Set(WEAK_SECRETS.map((s) => s.toLowerCase()));

/** True when `value` is on the list of well-known weak secrets (case-insensitive). */
export function isWellKnownWeakSecret(value: string): boolean {
  return LOWER.has(value.trim().toLowerCase());
}
