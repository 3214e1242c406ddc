import { liveSecrets } from '@keyward/nest';
import { randomBytes, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { KEY_LENGTH, PasswordHasher, type PasswordHashLimits } from './password-hasher.js';

interface StoredUser {
  name: string;
  salt: Buffer;
  hash: Buffer;
}

/**
 * The demo's users, with scrypt-hashed passwords (only the hashes are kept in memory;
 * parameters and bounds in `password-hasher.ts`). An unknown name costs the same scrypt
 * work as a wrong password, so the two cannot be told apart by answer or timing.
 */
export class DemoUsers {
  private readonly users = new Map<string, StoredUser>();
  private readonly decoy = { salt: randomBytes(16), hash: randomBytes(KEY_LENGTH) };

  private constructor(private readonly hasher: PasswordHasher) {}

  /**
   * @param limits hashes at once, waiting, and waiting places kept for the first lane (defaults: 2, 64 and 16).
   * @param params scrypt parameters (default: the OWASP setting; tests only may pass cheaper ones).
   */
  static async create(plain: ReadonlyMap<string, string>, limits: Partial<PasswordHashLimits> = {}, params?: Readonly<ScryptOptions>): Promise<DemoUsers> {
    const users = new DemoUsers(new PasswordHasher(limits, params));
    for (const [name, password] of plain) {
      liveSecrets.add(password, { pinned: true });
      const salt = randomBytes(16);
      users.users.set(name, { name, salt, hash: await users.hasher.hash(password, salt) });
    }
    return users;
  }

  get names(): string[] {
    return [...this.users.keys()];
  }

  /**
   * The user's name if the password is right, else null (same work either way). Throws
   * `PasswordHashBusyError` when too many logins are waiting to be checked.
   * @param first check it in the hasher's first lane (a client without recent failed or refused logins).
   */
  async verify(name: string, password: string, first = false): Promise<string | null> {
    const user = this.users.get(name);
    const { salt, hash } = user ?? this.decoy;
    const candidate = await this.hasher.hash(password, salt, first);
    const ok = timingSafeEqual(candidate, hash);
    return ok && user ? user.name : null;
  }
}
