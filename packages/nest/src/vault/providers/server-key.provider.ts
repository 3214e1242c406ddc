import { readFileSync, statSync } from 'node:fs';
import { Logger } from '@nestjs/common';
import { MIN_SCRUBBABLE_LENGTH, liveSecrets } from '../../redaction/live-secrets.js';
import type { CredentialProvider } from '../credential-provider.interface.js';
import { VaultError, VaultErrorCode } from '../../keyward.errors.js';
import { Secret } from '../secret.js';

/** Options of {@link ServerKeyProvider}. Give exactly one source. */
export interface ServerKeyOptions {
  /** Name of an environment variable holding the key, or a comma list, newest first. */
  env?: string;
  /**
   * A secret file (e.g. a mounted Kubernetes or Docker secret) holding one key per line,
   * newest first. Re-read when it changes, so a key rotates without a restart.
   */
  file?: string;
  /** The key(s) themselves, newest first. */
  keys?: string[];
  /**
   * How often the file's modification time is checked.
   * @default 5000
   */
  reloadCheckMs?: number;
}

/**
 * The app's own key for an upstream (one key for every user). Versioned: the source
 * lists keys newest first; the newest is used for every new call at once. Keep the old
 * key listed (and valid at the upstream) for a grace period of at least your longest
 * upstream timeout, so calls in flight finish; then remove it and revoke it upstream.
 *
 * @example
 * new ServerKeyProvider({ env: 'OPENAI_API_KEY' })
 */
export class ServerKeyProvider implements CredentialProvider {
  readonly kind = 'server-key';
  private keys: string[] = [];
  private fileMtime = 0;
  private checkedAt = 0;

  /** Configuration problems found at construction; reported by Keyward's option validation with every other problem. */
  private readonly configProblems: string[] = [];

  constructor(private readonly options: ServerKeyOptions) {
    const sources = [options.env, options.file, options.keys].filter((v) => v !== undefined).length;
    if (sources !== 1) throw new TypeError('ServerKeyProvider needs exactly one of `env`, `file` or `keys`.');
    this.load(Date.now(), true);
    const where = options.env ? `environment variable ${options.env}` : options.file ? `file ${options.file}` : '`keys`';
    if (this.keys.length === 0) {
      // A deployment problem (an unset variable, a missing file), not a code error: reported
      // through problems() in the one startup report; acquire() fails closed meanwhile.
      this.configProblems.push(`ServerKeyProvider found no key in ${where}. Set it (newest first, comma- or line-separated).`);
    }
    // A key too short to scrub would be used and could then be logged or echoed raw: refuse it.
    const short = this.keys.flatMap((k, i) => (k.length < MIN_SCRUBBABLE_LENGTH ? [i + 1] : []));
    if (short.length > 0) {
      throw new TypeError(
        `ServerKeyProvider (${where}): key ${short.join(', ')} of ${this.keys.length} is shorter than ${MIN_SCRUBBABLE_LENGTH} characters. ` +
          `Keys must be at least ${MIN_SCRUBBABLE_LENGTH} characters so they can be scrubbed from logs and upstream answers; check that the whole key was copied.`,
      );
    }
    for (const k of this.keys) liveSecrets.add(k, { pinned: true });
  }

  /** What is wrong with this provider's configuration (empty when it is usable). */
  problems(): string[] {
    return [...this.configProblems];
  }

  /** Key versions currently known, newest first (for tests and redaction). */
  get versions(): number {
    return this.keys.length;
  }

  async acquire(): Promise<Secret> {
    this.load(Date.now(), false);
    const key = this.keys[0];
    if (!key) throw new VaultError(VaultErrorCode.CredentialUnavailable, 'The server key is not configured.');
    return new Secret(key);
  }

  liveSecrets(): Iterable<string> {
    return this.keys;
  }

  private load(now: number, first: boolean): void {
    const o = this.options;
    if (o.keys) {
      if (first) this.keys = o.keys.map((k) => k.trim()).filter(Boolean);
      return;
    }
    if (o.env) {
      if (first) this.keys = split(process.env[o.env] ?? '');
      return;
    }
    if (!first && now - this.checkedAt < (o.reloadCheckMs ?? 5000)) return;
    this.checkedAt = now;
    try {
      const mtime = statSync(o.file!).mtimeMs;
      if (mtime === this.fileMtime && !first) return;
      const keys = split(readFileSync(o.file!, 'utf8'));
      if (keys.length > 0 && !first && keys.some((k) => k.length < MIN_SCRUBBABLE_LENGTH)) {
        // Never start using a key that cannot be scrubbed; keep the keys in use.
        if (mtime !== this.fileMtime) new Logger('Keyward').warn(`ServerKeyProvider: file ${o.file} now lists a key shorter than ${MIN_SCRUBBABLE_LENGTH} characters; it was not loaded, the previous keys stay in use.`);
        this.fileMtime = mtime;
        return;
      }
      if (keys.length > 0) {
        this.keys = keys;
        this.fileMtime = mtime;
        if (!first) for (const k of keys) liveSecrets.add(k, { pinned: true });
      }
    } catch {
      // Keep the keys we have; a missing file at startup is reported by the constructor.
    }
  }
}

function split(text: string): string[] {
  return text.split(/[,\r\n]+/).map((k) => k.trim()).filter(Boolean);
}
