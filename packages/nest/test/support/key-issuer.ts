import { Agent, request } from 'undici';
import type { KeyIssuer } from '../../src/index.js';

/**
 * A {@link KeyIssuer} over the test upstream's admin API (POST/DELETE /admin/keys).
 * Remembers, for the tests, which session each key was minted for and the key values (so
 * a test can check that a rotated-out key still works during its grace period).
 */
export class HttpKeyIssuer implements KeyIssuer {
  readonly minted = new Map<string, { key: string; sessionHandle: string; userId: string }>();
  readonly revoked: string[] = [];
  private readonly agent = new Agent({ connections: 32, keepAliveTimeout: 10_000 });

  constructor(
    private readonly baseUrl: string,
    private readonly adminToken: string,
  ) {}

  async mint(req: { userId: string; sessionHandle: string; expiresAt: Date }): Promise<{ id: string; key: string }> {
    // The tests run on a fake clock; give the key a real-time TTL long enough for the test.
    const res = await request(`${this.baseUrl}/admin/keys`, {
      method: 'POST',
      dispatcher: this.agent,
      headers: { authorization: `Bearer ${this.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ttlMs: 3_600_000, label: `test:${req.sessionHandle}` }),
    });
    const body = (await res.body.json()) as { id: string; key: string };
    if (res.statusCode !== 201) throw new Error(`mint failed: ${res.statusCode}`);
    this.minted.set(body.id, { key: body.key, sessionHandle: req.sessionHandle, userId: req.userId });
    return { id: body.id, key: body.key };
  }

  async revoke(id: string): Promise<void> {
    const res = await request(`${this.baseUrl}/admin/keys/${encodeURIComponent(id)}`, {
      method: 'DELETE',
      dispatcher: this.agent,
      headers: { authorization: `Bearer ${this.adminToken}` },
    });
    await res.body.dump();
    if (res.statusCode !== 204 && res.statusCode !== 404) throw new Error(`revoke failed: ${res.statusCode}`);
    this.revoked.push(id);
  }

  /** The upstream's own record of a key: GET /admin/keys/:id. */
  async status(id: string): Promise<{ id: string; active: boolean } | null> {
    const res = await request(`${this.baseUrl}/admin/keys/${encodeURIComponent(id)}`, {
      dispatcher: this.agent,
      headers: { authorization: `Bearer ${this.adminToken}` },
    });
    if (res.statusCode === 404) {
      await res.body.dump();
      return null;
    }
    return (await res.body.json()) as { id: string; active: boolean };
  }

  /** Key ids minted for a session handle, oldest first. */
  idsFor(sessionHandle: string): string[] {
    return [...this.minted].filter(([, v]) => v.sessionHandle === sessionHandle).map(([id]) => id);
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}
