import type { Adapter, AdapterFactory, AdapterPayload } from 'oidc-provider';

/** Models whose records belong to a grant (revoked together by `revokeByGrantId`). */
const GRANTABLE = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);

/** Records kept at most; the oldest record is dropped beyond this (a demo, not a database). */
export const MAX_RECORDS = 50_000;

interface StoredRecord {
  readonly model: string;
  readonly id: string;
  payload: AdapterPayload;
  /** Epoch milliseconds, or Infinity without an expiry. */
  readonly expiresAt: number;
}

/**
 * The demo identity provider's storage: every provider artifact (sessions, grants, codes,
 * tokens, interactions) in one process-local Map, lost on restart. Unlike oidc-provider's
 * built-in quick-start adapter it can list records by model, which the admin routes need
 * (a user's sessions, a user's live grants). One store per provider instance, so tests can
 * run several providers in one process.
 */
export class MemoryStore {
  readonly #records = new Map<string, StoredRecord>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** The adapter factory to give oidc-provider's `adapter` setting. */
  readonly factory: AdapterFactory = (model: string): Adapter => this.#adapterFor(model);

  /** Live (unexpired) records of one model. */
  live(model: string): { id: string; payload: AdapterPayload }[] {
    const now = this.#now();
    const out: { id: string; payload: AdapterPayload }[] = [];
    for (const record of this.#records.values()) {
      if (record.model === model && record.expiresAt > now) out.push({ id: record.id, payload: record.payload });
    }
    return out;
  }

  /** Ends a grant: the grant itself and every code and token issued under it. */
  revokeGrant(grantId: string): void {
    for (const [key, record] of this.#records) {
      if ((record.model === 'Grant' && record.id === grantId) || (GRANTABLE.has(record.model) && record.payload.grantId === grantId)) {
        this.#records.delete(key);
      }
    }
  }

  #key(model: string, id: string): string {
    return `${model}:${id}`;
  }

  #get(model: string, id: string): StoredRecord | undefined {
    const key = this.#key(model, id);
    const record = this.#records.get(key);
    if (record === undefined) return undefined;
    if (record.expiresAt <= this.#now()) {
      this.#records.delete(key);
      return undefined;
    }
    return record;
  }

  #findBy(model: string, field: 'uid' | 'userCode', value: string): AdapterPayload | undefined {
    for (const record of this.#records.values()) {
      if (record.model === model && record.payload[field] === value && record.expiresAt > this.#now()) return record.payload;
    }
    return undefined;
  }

  #sweep(): void {
    const now = this.#now();
    for (const [key, record] of this.#records) if (record.expiresAt <= now) this.#records.delete(key);
    while (this.#records.size >= MAX_RECORDS) {
      const oldest = this.#records.keys().next();
      if (oldest.done === true) break;
      this.#records.delete(oldest.value);
    }
  }

  #adapterFor(model: string): Adapter {
    return {
      upsert: async (id, payload, expiresIn) => {
        if (this.#records.size >= MAX_RECORDS / 2) this.#sweep();
        const expiresAt = typeof expiresIn === 'number' ? this.#now() + expiresIn * 1000 : Infinity;
        const key = this.#key(model, id);
        this.#records.delete(key); // re-insert at the end: insertion order is age order
        this.#records.set(key, { model, id, payload: { ...payload }, expiresAt });
      },
      find: async (id) => this.#get(model, id)?.payload,
      findByUid: async (uid) => this.#findBy(model, 'uid', uid),
      findByUserCode: async (userCode) => this.#findBy(model, 'userCode', userCode),
      consume: async (id) => {
        const record = this.#get(model, id);
        if (record !== undefined) record.payload = { ...record.payload, consumed: Math.floor(this.#now() / 1000) };
      },
      destroy: async (id) => {
        this.#records.delete(this.#key(model, id));
      },
      revokeByGrantId: async (grantId) => {
        if (!GRANTABLE.has(model)) return;
        for (const [key, record] of this.#records) {
          if (record.model === model && record.payload.grantId === grantId) this.#records.delete(key);
        }
      },
    };
  }
}
