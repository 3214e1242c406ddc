import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { PublicJwk } from './types.js';

/**
 * Fresh private signing keys for one run (development): an ES256 key (access tokens) and
 * an RS256 key (ID tokens and logout tokens, the OpenID Connect default). They live in
 * memory only and are never printed; the public halves are served at the JWKS endpoint.
 */
export function generateSigningKeys(): PublicJwk[] {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const kid = (): string => randomBytes(8).toString('hex');
  return [
    { ...ec, kid: kid(), alg: 'ES256', use: 'sig' },
    { ...rsa, kid: kid(), alg: 'RS256', use: 'sig' },
  ];
}
