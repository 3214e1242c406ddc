import { setTimeout as sleep } from 'node:timers/promises';
import { PageClient } from './clients.js';

/** An app instance under load. */
export interface LoadTarget {
  name: string;
  url: string;
}

/** One answer the load got (every request needs the store, except none). */
export interface Outcome {
  /** Index of the instance in the targets. */
  instance: number;
  op: string;
  status: number;
  /** The error body's `code`, for an error. */
  code?: string;
  sentAt: number;
  at: number;
}

/** What the client believes of a session it holds. */
type State = 'valid' | 'ended' | 'uncertain' | 'lost';
/** How an ended session was ended, from the client's view. */
type EndedBy = 'logout' | 'logout-all' | 'revoke' | 'cap' | 'burst';

export interface Held {
  readonly user: string;
  readonly cookie: string;
  readonly handle: string;
  state: State;
  endedBy?: EndedBy;
  /** When the client saw it end (`Date.now()`). */
  endedAt?: number;
}

const CAP = 3;
const STATUSES: Record<string, number[]> = {
  login: [200, 503],
  me: [200, 401, 503],
  proxied: [200, 401, 503],
  logout: [204, 503],
  'logout-all': [204, 401, 503],
  revoke: [204, 401, 404, 503],
  probe: [200, 401, 503],
};

/**
 * A steady load of virtual users against several app instances sharing one store, keeping
 * a ledger of what each client saw: which cookies are valid, which sessions it saw end
 * (logout, logout-all, revoke, the per-user cap of {@link CAP}, observed as a 401 on the
 * oldest session right after the login over the cap), which ends it cannot be sure of (the
 * request failed), and every answer with its time. A request goes to a random instance.
 *
 * Violations (always wrong): a response that names another user, a status an operation
 * cannot answer (500, 502, ...), a transport error. `endedServed` counts 2xx answers to a
 * cookie the client saw end: wrong with durable ends, the measured loss without.
 */
export class FailoverLoad {
  readonly outcomes: Outcome[] = [];
  readonly violations: string[] = [];
  readonly held: Held[] = [];
  /** Cookies the client saw end that were later answered 2xx during the run. */
  readonly endedServed = new Set<Held>();
  /** For each of those: how it ended, when, and the answer that served it. */
  readonly endedServedLog: string[] = [];
  proxied2xx = 0;
  lostSessions = 0;
  capEnded = 0;
  capMissed = 0;
  /** The last login that did not answer 200: `<status> <code>` (for a failure's message). */
  private lastLoginAnswer = 'none';
  private stopped = false;
  private loops: Array<Promise<void>> = [];
  private probeSeq = 0;

  constructor(
    readonly targets: readonly LoadTarget[],
    private readonly tag: string,
    private readonly o: { users: number; thinkMs: [number, number] },
  ) {}

  start(): void {
    this.loops = Array.from({ length: this.o.users }, (_, i) => this.user(`${this.tag}-u${i}`));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  /** Every session the client saw end. */
  ended(): Held[] {
    return this.held.filter((h) => h.state === 'ended');
  }

  /** `count` sessions of users of their own, for a burst of logouts; each login is retried until it answers 200 (20 s at most). */
  async prepareBurst(round: number, count: number): Promise<Held[]> {
    return Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const user = `${this.tag}-b${round}-${i}`;
        const deadline = Date.now() + 20_000;
        for (;;) {
          const h = await this.login(user, i % this.targets.length, []);
          if (h) return h;
          if (Date.now() > deadline) throw new Error(`burst login of ${user} did not answer 200 within 20 s (last answer: ${this.lastLoginAnswer})`);
          await sleep(50);
        }
      }),
    );
  }

  /** Logs every burst session out at once; returns how many logouts answered 204 (the client then believes them ended). */
  async endBurst(burst: readonly Held[]): Promise<number> {
    const done = await Promise.all(burst.map((h, i) => this.logout(h, i % this.targets.length, 'burst')));
    return done.filter(Boolean).length;
  }

  /** How the burst logouts were answered: `<status> <code>` -> count. */
  readonly burstAnswers = new Map<string, number>();

  /** Waits until a fresh login answers 200 on the instance (bounded). */
  async waitServing(instance: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer';
    for (;;) {
      const r = await this.send(instance, 'login', 'POST', '/login', undefined, { user: `${this.tag}-probe${this.probeSeq++}` }).catch((e: Error) => ({ status: 0, body: { code: e.message } }));
      if (r.status === 200) return;
      last = `${r.status} ${r.body?.code ?? ''}`;
      if (Date.now() > deadline) throw new Error(`${this.targets[instance]!.name} did not serve a login within ${timeoutMs} ms of the promotion (last: ${last})`);
      await sleep(100);
    }
  }

  /** Tries every ended session's cookie on every instance (503s retried, bounded); returns the sessions that answered 2xx. */
  async probeEnded(): Promise<Held[]> {
    const ended = this.ended();
    const back = new Set<Held>();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < ended.length) {
        const h = ended[next++]!;
        for (let instance = 0; instance < this.targets.length; instance++) {
          const path = instance % 2 === 0 ? '/me' : '/api/proxy/server/echo';
          for (let attempt = 0; ; attempt++) {
            const r = await this.send(instance, 'probe', 'GET', path, h.cookie);
            if (r.status >= 200 && r.status < 300) back.add(h);
            if (r.status !== 503) break;
            if (attempt >= 50) throw new Error(`final probe: ${this.targets[instance]!.name} still answers 503 after 50 tries`);
            await sleep(100);
          }
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    return [...back];
  }

  private async user(user: string): Promise<void> {
    const held: Held[] = [];
    while (!this.stopped) {
      const [lo, hi] = this.o.thinkMs;
      await sleep(lo + Math.random() * (hi - lo));
      const valid = held.filter((h) => h.state === 'valid');
      const at = Math.floor(Math.random() * this.targets.length);
      const pick = valid[Math.floor(Math.random() * valid.length)]!;
      const r = Math.random();
      try {
        if (valid.length === 0 || r < 0.1) await this.loginOverCap(user, at, held);
        else if (r < 0.45) await this.me(pick, at);
        else if (r < 0.7) await this.proxied(pick, at);
        else if (r < 0.8) await this.logout(pick, at, 'logout');
        else if (r < 0.87 && valid.length >= 2) await this.revoke(valid[0]!, valid[valid.length - 1]!, at);
        else if (r < 0.9) await this.logoutAll(pick, held, at);
        else await this.probeOne(held, at);
      } catch (e) {
        this.violations.push(`transport error: ${(e as Error).message}`);
      }
    }
  }

  private async send(instance: number, op: string, method: string, path: string, cookie?: string, body?: unknown) {
    const sentAt = Date.now();
    const c = new PageClient(this.targets[instance]!.url);
    const r = await c.request(method, path, { cookie: cookie ?? '', body });
    const code = typeof r.body?.code === 'string' ? (r.body.code as string) : undefined;
    this.outcomes.push({ instance, op, status: r.status, code, sentAt, at: Date.now() });
    if (!STATUSES[op]!.includes(r.status)) this.violations.push(`${op} on ${this.targets[instance]!.name} answered ${r.status} ${code ?? r.text.slice(0, 80)}`);
    if (op === 'proxied' || (op === 'probe' && path.startsWith('/api/'))) if (r.status >= 200 && r.status < 300) this.proxied2xx++;
    return { ...r, cookieHeader: c.cookieHeader };
  }

  private async login(user: string, at: number, held: Held[]): Promise<Held | undefined> {
    const r = await this.send(at, 'login', 'POST', '/login', undefined, { user });
    if (r.status !== 200) {
      this.lastLoginAnswer = `${r.status} ${r.body?.code ?? ''}`;
      return undefined;
    }
    if (r.body?.user?.id !== user) this.violations.push(`login as ${user} answered for another user`);
    const h: Held = { user, cookie: r.cookieHeader, handle: String(r.body.handle), state: 'valid' };
    this.held.push(h);
    held.push(h);
    return h;
  }

  /** A login; at the cap, the oldest valid session should end: a 401 on it right after counts as an end the client saw. */
  private async loginOverCap(user: string, at: number, held: Held[]): Promise<void> {
    const before = held.filter((h) => h.state === 'valid');
    if (!(await this.login(user, at, held)) || before.length < CAP) return;
    const oldest = before[0]!;
    const r = await this.send(at, 'me', 'GET', '/me', oldest.cookie);
    if (r.status === 401) {
      oldest.state = 'ended';
      oldest.endedBy = 'cap';
      oldest.endedAt = Date.now();
      this.capEnded++;
    } else if (r.status === 200) {
      this.capMissed++; // an older session the client lost track of took the cap
    } else {
      oldest.state = 'uncertain';
    }
  }

  private async me(h: Held, at: number): Promise<void> {
    const r = await this.send(at, 'me', 'GET', '/me', h.cookie);
    if (r.status === 200 && r.body?.user?.id !== h.user) this.violations.push(`session bleed: /me for ${h.user} named ${String(r.body?.user?.id)}`);
    if (r.status === 401) this.lose(h);
  }

  private async proxied(h: Held, at: number): Promise<void> {
    const r = await this.send(at, 'proxied', 'GET', '/api/proxy/server/echo', h.cookie);
    if (r.status === 401) this.lose(h);
  }

  /** Returns true when the client saw the logout succeed. */
  private async logout(h: Held, at: number, by: EndedBy): Promise<boolean> {
    h.state = 'uncertain';
    const r = await this.send(at, 'logout', 'POST', '/logout', h.cookie).catch((e: Error) => {
      this.violations.push(`transport error on logout: ${e.message}`);
      return { status: 0 };
    });
    if (by === 'burst') {
      const k = `${r.status}${'body' in r && typeof r.body?.code === 'string' ? ` ${r.body.code}` : ''}`;
      this.burstAnswers.set(k, (this.burstAnswers.get(k) ?? 0) + 1);
    }
    if (r.status !== 204) return false;
    h.state = 'ended';
    h.endedBy = by;
    h.endedAt = Date.now();
    return true;
  }

  private async revoke(from: Held, target: Held, at: number): Promise<void> {
    target.state = 'uncertain';
    const r = await this.send(at, 'revoke', 'DELETE', `/sessions/${encodeURIComponent(target.handle)}`, from.cookie);
    if (r.status === 204) {
      target.state = 'ended';
      target.endedBy = 'revoke';
      target.endedAt = Date.now();
    } else if (r.status === 401) {
      target.state = 'valid';
      this.lose(from);
    } else if (r.status === 404) {
      this.lose(target);
    }
  }

  private async logoutAll(h: Held, held: Held[], at: number): Promise<void> {
    const valid = held.filter((x) => x.state === 'valid');
    for (const v of valid) v.state = 'uncertain';
    const r = await this.send(at, 'logout-all', 'POST', '/logout-all', h.cookie);
    if (r.status === 204) {
      for (const v of valid) {
        v.state = 'ended';
        v.endedBy = 'logout-all';
        v.endedAt = Date.now();
      }
    } else if (r.status === 401) {
      for (const v of valid) v.state = 'valid';
      this.lose(h);
    }
  }

  /** Sends one of the user's ended cookies: it must not be answered 2xx. */
  private async probeOne(held: Held[], at: number): Promise<void> {
    const ended = held.filter((h) => h.state === 'ended');
    if (ended.length === 0) return;
    const h = ended[Math.floor(Math.random() * ended.length)]!;
    const path = Math.random() < 0.5 ? '/me' : '/api/proxy/server/echo';
    const r = await this.send(at, 'probe', 'GET', path, h.cookie);
    if (r.status >= 200 && r.status < 300) {
      this.endedServed.add(h);
      this.endedServedLog.push(`${h.endedBy} at ${h.endedAt}, ${path} on ${this.targets[at]!.name} answered ${r.status} at ${Date.now()}`);
    }
  }

  private lose(h: Held): void {
    if (h.state !== 'valid') return;
    h.state = 'lost';
    this.lostSessions++;
  }
}
