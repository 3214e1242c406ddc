import { scrypt, type BinaryLike, type ScryptOptions } from 'node:crypto';

/**
 * scrypt at one of the minimum settings the OWASP Password Storage Cheat Sheet lists as
 * equivalent (N=2^17,r=8,p=1 / 2^16,8,2 / 2^15,8,3 / 2^14,8,5 / 2^13,8,10): N=2^13, r=8,
 * p=10. It costs the same CPU as 2^14,8,5 with half the work memory (128·N·r = 8 MiB per
 * hash, reused across the p rounds), and a sixteenth of 2^17,8,1's 128 MiB. The demo used
 * N=2^14,r=8,p=1 before, below that minimum. Work memory is allocated by OpenSSL on a libuv
 * thread (glibc keeps each thread's freed block for reuse: see docs/memory.md).
 */
export const SCRYPT_PARAMS: Readonly<ScryptOptions> = Object.freeze({ N: 2 ** 13, r: 8, p: 10, maxmem: 32 * 1024 * 1024 });
/**
 * Test-only (KEYWARD_DEMO_TEST_PASSWORD_HASH=1, refused in production): N=2^10, far below
 * OWASP's minimum, for suites whose many logins would otherwise queue past their short
 * session lifetimes. The bounds apply the same.
 */
export const TEST_ONLY_SCRYPT_PARAMS: Readonly<ScryptOptions> = Object.freeze({ N: 2 ** 10, r: 8, p: 1, maxmem: 32 * 1024 * 1024 });
/** Bytes of scrypt work memory per hash in flight. */
export const SCRYPT_WORK_BYTES = 128 * SCRYPT_PARAMS.N! * SCRYPT_PARAMS.r!;
export const KEY_LENGTH = 32;

/** Bounds of {@link PasswordHasher}. */
export interface PasswordHashLimits {
  /**
   * Hashes computed at once. Each holds {@link SCRYPT_WORK_BYTES} and one of libuv's four
   * pool threads (which file, DNS and other crypto work share); the rest wait in line.
   * @default 2
   */
  concurrent: number;
  /**
   * Hashes waiting for a turn in the common line, at most; past it a login is refused at
   * once ({@link PasswordHashBusyError}: 503 with Retry-After) instead of queueing without end.
   * @default 64
   */
  waiting: number;
  /**
   * Places kept, on top of `waiting`, for hashes asked with `first: true` (the demo: logins
   * from clients without a failed or refused login in the window). That line is served
   * before the common one, so a full common line delays such a login by at most the hashes
   * running and the first-lane ones ahead of it. When it is full they join the common line.
   * @default 16
   */
  reserved: number;
}

export const DEFAULT_HASH_LIMITS: Readonly<PasswordHashLimits> = Object.freeze({ concurrent: 2, waiting: 64, reserved: 16 });

/** Too many logins are being checked right now (the wait line is full). */
export class PasswordHashBusyError extends Error {
  readonly code = 'KW_LOGIN_BUSY';
  constructor() {
    super('Too many logins are being checked right now; try again in a moment.');
    this.name = 'PasswordHashBusyError';
  }
}

/**
 * Hashes passwords with scrypt, at most `concurrent` at a time: the memory password
 * hashing can take is `concurrent` x 8 MiB whatever the login rate, and a burst of logins
 * cannot occupy every libuv pool thread. Two bounded wait lines: a first lane of
 * `reserved` places, always served first, and the common line of `waiting` places.
 */
export class PasswordHasher {
  private running = 0;
  /** Waiting turns of the first lane (served before {@link common}). */
  private readonly first: Array<() => void> = [];
  private readonly common: Array<() => void> = [];
  private readonly limits: PasswordHashLimits;

  /** @param params scrypt parameters: {@link SCRYPT_PARAMS} unless a test asks for {@link TEST_ONLY_SCRYPT_PARAMS}. */
  constructor(
    limits: Partial<PasswordHashLimits> = {},
    private readonly params: Readonly<ScryptOptions> = SCRYPT_PARAMS,
  ) {
    const l = { ...DEFAULT_HASH_LIMITS, ...limits };
    const problems: string[] = [];
    if (!Number.isInteger(l.concurrent) || l.concurrent < 1) problems.push(`concurrent must be a positive integer (got ${String(l.concurrent)}); the default is ${DEFAULT_HASH_LIMITS.concurrent}.`);
    if (!Number.isInteger(l.waiting) || l.waiting < 0) problems.push(`waiting must be a non-negative integer (got ${String(l.waiting)}); the default is ${DEFAULT_HASH_LIMITS.waiting}.`);
    if (!Number.isInteger(l.reserved) || l.reserved < 0) problems.push(`reserved must be a non-negative integer (got ${String(l.reserved)}); the default is ${DEFAULT_HASH_LIMITS.reserved}.`);
    if (problems.length) throw new TypeError(`PasswordHasher: ${problems.join(' ')}`);
    this.limits = l;
  }

  /** Hashes in flight, waiting in the common line, and waiting in the first lane (tests, health checks). */
  get load(): { running: number; waiting: number; waitingFirst: number } {
    return { running: this.running, waiting: this.common.length, waitingFirst: this.first.length };
  }

  /**
   * The scrypt hash of `password` with `salt`; rejects with {@link PasswordHashBusyError}
   * when its wait line is full.
   * @param first wait in the first lane (while it has room), served before the common line.
   * @example
   * const key = await hasher.hash(password, salt, limit.clean(client));
   */
  async hash(password: BinaryLike, salt: Buffer, first = false): Promise<Buffer> {
    if (this.running >= this.limits.concurrent) {
      const line = first && this.first.length < this.limits.reserved ? this.first : this.common.length < this.limits.waiting ? this.common : null;
      if (!line) throw new PasswordHashBusyError();
      await new Promise<void>((resolve) => line.push(resolve));
    } else this.running++;
    try {
      return await new Promise<Buffer>((resolve, reject) => scrypt(password, salt, KEY_LENGTH, this.params, (err, key) => (err ? reject(err) : resolve(key))));
    } finally {
      // Hand the slot to the next in line, first lane first (it stays counted as running), or free it.
      const next = this.first.shift() ?? this.common.shift();
      if (next) next();
      else this.running--;
    }
  }
}
