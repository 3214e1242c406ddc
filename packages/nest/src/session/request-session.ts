import { SessionRequiredError } from '../keyward.errors.js';
import type { StoredSession } from '../stores/session-store.interface.js';
import { serializeClearingCookie, serializeSessionCookie } from './session-cookie.js';
import type { SessionEngine } from './session.engine.js';
import { checkFieldName, userOf } from './session-fields.js';
import type { SessionInfo, SessionUser } from './session.types.js';

/**
 * How a {@link RequestSession} writes the headers of its response (the session cookie,
 * `Cache-Control`, `Clear-Site-Data`): handed to it by whoever created it (the HTTP edge,
 * for either adapter), so the session knows nothing of Express, Fastify or Node's response.
 */
export interface HeaderWriter {
  /** Adds a value, keeping earlier ones of the same name (Set-Cookie). */
  append(res: unknown, name: string, value: string): void;
  /** Sets (replaces) a header. */
  set(res: unknown, name: string, value: string): void;
}

/** One entry of {@link RequestSession.list}. */
export interface ListedSession extends SessionInfo {
  /** True for the session making this request. */
  current: boolean;
}

/** What {@link RequestSession.login} returns: the new session, and any it ended to stay within the per-user cap. */
export interface LoginInfo extends SessionInfo {
  /** The user's older sessions this login ended (`session.maxPerUser`), oldest first. */
  endedSessions: SessionInfo[];
}

/**
 * A {@link RequestSession} known to carry a logged-in user: what
 * `@CurrentSession({ authenticated: true })` hands a handler (it refuses with 401 when the
 * request has no session), so `user`, `info` and `storedRecord` need no `!`.
 *
 * @example
 * @Get('me') me(@CurrentSession({ authenticated: true }) session: AuthenticatedSession) {
 *   return { name: session.user.name, expiresAt: session.info.expiresAt };
 * }
 */
export type AuthenticatedSession = RequestSession & {
  readonly isAuthenticated: true;
  readonly user: SessionUser;
  readonly info: SessionInfo;
  readonly storedRecord: StoredSession;
};

/**
 * The session of the current request, injected with `@CurrentSession()`. Anonymous
 * requests get one too (`isAuthenticated === false`) so they can log in.
 *
 * @example
 * @Post('login') @AllowAnonymous()
 * async login(@CurrentSession() session: RequestSession, @Body() body: LoginDto) {
 *   const user = await this.users.verify(body.username, body.password);
 *   await session.login({ id: user.id, name: user.name });
 * }
 */
export class RequestSession {
  private cookieCleared = false;

  constructor(
    private readonly engine: SessionEngine,
    private readonly res: unknown,
    private record: StoredSession | null,
    private readonly headers: HeaderWriter,
  ) {}

  /** True when the request carries a valid, unexpired session. */
  get isAuthenticated(): boolean {
    return this.record !== null;
  }

  /** The logged-in user, or undefined. */
  get user(): SessionUser | undefined {
    return this.record ? userOf(this.record) : undefined;
  }

  /** Public facts about the session (handle, times), or undefined when anonymous. */
  get info(): SessionInfo | undefined {
    return this.record ? this.engine.info(this.record) : undefined;
  }

  /** The store record, for Keyward's own capabilities (vault, proxy). */
  get storedRecord(): StoredSession | undefined {
    return this.record ?? undefined;
  }

  /**
   * Logs a user in: any session this request had ends, and a new one with a new ID
   * starts (no session fixation). Sets the cookie.
   */
  async login(user: SessionUser): Promise<LoginInfo> {
    if (this.record) await this.engine.end(this.record.key, 'replaced');
    const issued = await this.engine.create(user);
    this.adopt(issued.record, issued.signedValue);
    return { ...this.engine.info(issued.record), endedSessions: (issued.endedByCap ?? []).map((r) => this.engine.info(r)) };
  }

  /**
   * Moves this session to a new ID, keeping its data, vault entries and deadline: call it
   * on a privilege change of the same user (pass `user` with the same `id` to update what
   * the session says about them, e.g. a new role).
   *
   * Passing a user with a different `id` does not move anything: the current session ends
   * (its keys are revoked and its vault entries deleted) and a new, empty session starts
   * for that user, exactly as {@link login} does. To log someone in, call `login()`.
   *
   * @example
   * await session.regenerate({ ...session.user!, role: 'admin' }); // after step-up auth
   */
  async regenerate(user?: SessionUser): Promise<SessionInfo> {
    const current = this.liveRecord();
    const issued = await this.engine.regenerate(current, user);
    if (!issued) return this.lost();
    this.adopt(issued.record, issued.signedValue);
    return this.engine.info(issued.record);
  }

  /** Ends this session: record and vault deleted, cookie cleared, `Clear-Site-Data` sent. */
  async logout(): Promise<void> {
    if (this.record) await this.engine.end(this.record.key, 'logout');
    this.clear(true);
  }

  /** Ends every session of this user, on every device. Returns how many ended. */
  async logoutAll(): Promise<number> {
    const current = this.liveRecord();
    const n = await this.engine.endAllForUser(current.userId, 'logout-all');
    this.clear(true);
    return n;
  }

  /** The live sessions of this user, newest first. */
  async list(): Promise<ListedSession[]> {
    const current = this.liveRecord();
    const all = await this.engine.list(current.userId);
    return all.map((s) => ({ ...this.engine.info(s), current: s.key === current.key }));
  }

  /** Ends one of this user's sessions by its public handle (404 error if unknown). */
  async revoke(handle: string): Promise<void> {
    const current = this.liveRecord();
    await this.engine.revokeByHandle(current.userId, handle);
    if (handle === current.handle) this.clear(true);
  }

  /** Reads a value stored with {@link set}. */
  get<T = unknown>(name: string): T | undefined {
    checkFieldName(name);
    const data = this.record?.data;
    if (!data || !Object.hasOwn(data, name)) return undefined;
    return JSON.parse(data[name]!) as T;
  }

  /**
   * Stores a JSON value in the session. Only this field is written: concurrent requests
   * writing other fields keep their writes.
   */
  async set(name: string, value: unknown): Promise<void> {
    checkFieldName(name);
    const current = this.liveRecord();
    const encoded = JSON.stringify(value);
    if (encoded === undefined) return this.unset(name);
    if (!(await this.engine.patch(current.key, { [name]: encoded }))) return this.lost();
    current.data = { ...current.data, [name]: encoded };
  }

  /** Removes a value. */
  async unset(name: string): Promise<void> {
    checkFieldName(name);
    const current = this.liveRecord();
    if (!(await this.engine.patch(current.key, {}, [name]))) return this.lost();
    delete current.data[name];
  }

  /** Sets the cookie again (sliding Max-Age, or re-signed with the newest secret). */
  refreshCookie(signedValue: string): void {
    if (this.record) this.sendCookie(serializeSessionCookie(this.engine.options, signedValue, this.engine.cookieLifetime(this.record)));
  }

  /** Clears the cookie of a request whose cookie was invalid or expired. */
  clearCookie(): void {
    this.clear(false);
  }

  private adopt(record: StoredSession, signedValue: string): void {
    this.record = record;
    this.sendCookie(serializeSessionCookie(this.engine.options, signedValue, this.engine.cookieLifetime(record)));
  }

  /**
   * Every response that sets or clears the session cookie is marked `no-store`: a shared
   * cache must never keep (and replay to someone else) a response carrying a session.
   */
  private sendCookie(setCookie: string): void {
    this.headers.append(this.res, 'Set-Cookie', setCookie);
    this.headers.set(this.res, 'Cache-Control', 'no-store');
  }

  private clear(clearSiteData: boolean): void {
    this.record = null;
    if (!this.cookieCleared) {
      this.sendCookie(serializeClearingCookie(this.engine.options));
      this.cookieCleared = true;
    }
    if (clearSiteData) this.headers.append(this.res, 'Clear-Site-Data', '"cookies"');
  }

  private liveRecord(): StoredSession {
    if (!this.record) throw new SessionRequiredError();
    return this.record;
  }

  private lost(): never {
    this.clear(false);
    throw new SessionRequiredError();
  }
}
