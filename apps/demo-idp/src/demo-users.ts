import { createHash, timingSafeEqual } from 'node:crypto';

/** The demo users when `KEYWARD_DEMO_USERS` is unset (development only). */
export const DEFAULT_DEMO_USERS = 'alice:alice-password,bob:bob-password';

/** Profile claims the provider releases for a demo user. */
export interface DemoAccount {
  readonly sub: string;
  readonly name: string;
  readonly email: string;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * Parses `name:password,...`. Problems are pushed to `problems` (never with a password);
 * returns the pairs that parsed.
 *
 * @example parseDemoUsers('alice:alice-password', problems) // Map { 'alice' => 'alice-password' }
 */
export function parseDemoUsers(raw: string, problems: string[]): Map<string, string> {
  const users = new Map<string, string>();
  for (const entry of raw.split(',').map((e) => e.trim()).filter((e) => e.length > 0)) {
    const i = entry.indexOf(':');
    if (i <= 0 || i === entry.length - 1) {
      problems.push('KEYWARD_DEMO_USERS: expected name:password pairs separated by commas.');
      continue;
    }
    const name = entry.slice(0, i);
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) {
      problems.push('KEYWARD_DEMO_USERS: a user name may hold letters, digits, ".", "_" and "-" (1 to 64 characters).');
      continue;
    }
    if (users.has(name)) problems.push(`KEYWARD_DEMO_USERS: the user '${name}' is listed twice.`);
    users.set(name, entry.slice(i + 1));
  }
  return users;
}

/**
 * The demo users the provider signs in. Passwords are kept as SHA-256 digests and checked
 * in constant time; an unknown name costs the same comparison as a wrong password.
 */
export class DemoUsers {
  readonly #digests = new Map<string, Buffer>();
  readonly #decoy = digest('decoy password that matches nothing');

  constructor(users: ReadonlyMap<string, string>) {
    for (const [name, password] of users) this.#digests.set(name, digest(password));
  }

  /** The user's name when `password` is theirs, else null. */
  verify(username: string, password: string): string | null {
    const expected = this.#digests.get(username);
    const ok = timingSafeEqual(expected ?? this.#decoy, digest(password));
    return ok && expected !== undefined ? username : null;
  }

  /** The account of a known user, else undefined. */
  account(username: string): DemoAccount | undefined {
    if (!this.#digests.has(username)) return undefined;
    return { sub: username, name: username.charAt(0).toUpperCase() + username.slice(1), email: `${username}@demo.keyward.invalid` };
  }

  /** Known user names. */
  get names(): string[] {
    return [...this.#digests.keys()];
  }
}
