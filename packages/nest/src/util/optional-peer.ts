import { KeywardConfigError, KeywardErrorCode } from '../keyward.errors.js';
import { peerRequire } from './peer-require.cjs';

/** Code of the error thrown when an optional peer dependency a feature needs is not installed. */
export const PEER_MISSING = KeywardErrorCode.PeerMissing;

/**
 * Loads an optional peer dependency the first time a feature needs it (a store is
 * constructed, a logger created), so an app installs only what it uses: a Redis-only app
 * compiles no SQLite. If the package is not installed, throws a {@link KeywardConfigError}
 * with code `KW_PEER_MISSING` that names the package and the command to install it.
 */
export function loadOptionalPeer<T>(name: string, feature: string, alternative?: string): T {
  try {
    return peerRequire(name) as T;
  } catch (cause) {
    if (!isMissing(cause, name)) throw cause;
    const hint = alternative ? ` (${alternative})` : '';
    const error = new KeywardConfigError([`${feature} needs the package "${name}", which is not installed. Install it: npm install ${name}${hint}.`], PEER_MISSING);
    Object.defineProperty(error, 'cause', { value: cause, enumerable: false, configurable: true, writable: true });
    throw error;
  }
}

/** True when `cause` says `name` itself (not one of its own dependencies) cannot be found. */
function isMissing(cause: unknown, name: string): boolean {
  const code = (cause as { code?: unknown } | null)?.code;
  if (code !== 'MODULE_NOT_FOUND' && code !== 'ERR_MODULE_NOT_FOUND') return false;
  const message = cause instanceof Error ? cause.message : '';
  return message.includes(`'${name}'`) || message.includes(`"${name}"`);
}
