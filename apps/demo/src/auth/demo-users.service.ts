import { liveSecrets } from '@keyward/nest';
import { randomBytes, scrypt, timingSafeEqual, type BinaryLike, type ScryptOptions } from 'node:crypto';

const SCRYPT: ScryptOptions = { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const KEY_LENGTH = 32;

function derive(password: BinaryLike, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, KEY_LENGTH, SCRYPT, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

interface StoredUser {
  name: string;
  salt: Buffer;
  hash: Buffer;
}

/**
 * The demo's users, with scrypt-hashed passwords (only the hashes are kept in memory).
 * An unknown name costs the same scrypt work as a wrong password, so the two cannot be
 * told apart by answer or timing.
 */
export class DemoUsers {
  private readonly users = new Map<string, StoredUser>();
  private readonly decoy = { salt: randomBytes(16), hash: randomBytes(KEY_LENGTH) };

  static async create(plain: ReadonlyMap<string, string>): Promise<DemoUsers> {
    const users = new DemoUsers();
    for (const [name, password] of plain) {
      liveSecrets.add(password, { pinned: true });
      const salt = randomBytes(16);
      users.users.set(name, { name, salt, hash: await derive(password, salt) });
    }
    return users;
  }

  get names(): string[] {
    return [...this.users.keys()];
  }

  /** The user's name if the password is right, else null (same work either way). */
  async verify(name: string, password: string): Promise<string | null> {
    const user = this.users.get(name);
    const { salt, hash } = user ?? this.decoy;
    const candidate = await derive(password, salt);
    const ok = timingSafeEqual(candidate, hash);
    return ok && user ? user.name : null;
  }
}
