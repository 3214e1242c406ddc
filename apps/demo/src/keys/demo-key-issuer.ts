import { liveSecrets, type KeyIssuer } from '@keyward/nest';
import { Agent, request } from 'undici';

/**
 * Mints and revokes per-session keys at the demo upstream's admin API
 * (`POST /admin/keys`, `DELETE /admin/keys/:id`). The admin token never leaves this file.
 */
export class DemoKeyIssuer implements KeyIssuer {
  private readonly agent = new Agent({ connections: 16, keepAliveTimeout: 30_000 });

  constructor(
    private readonly baseUrl: string,
    private readonly adminToken: string,
  ) {
    liveSecrets.add(adminToken, { pinned: true });
  }

  async mint(req: { expiresAt: Date }): Promise<{ id: string; key: string }> {
    const ttlMs = Math.max(1000, req.expiresAt.getTime() - Date.now());
    const res = await request(new URL('/admin/keys', this.baseUrl), {
      method: 'POST',
      dispatcher: this.agent,
      headers: { authorization: `Bearer ${this.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ttlMs, label: 'keyward-session' }),
      headersTimeout: 5000,
      bodyTimeout: 5000,
    });
    const body = (await res.body.json().catch(() => null)) as { id?: unknown; key?: unknown } | null;
    if (res.statusCode !== 201 || typeof body?.id !== 'string' || typeof body.key !== 'string') {
      throw new Error(`mint failed with status ${res.statusCode}`);
    }
    return { id: body.id, key: body.key };
  }

  async revoke(id: string): Promise<void> {
    const res = await request(new URL(`/admin/keys/${encodeURIComponent(id)}`, this.baseUrl), {
      method: 'DELETE',
      dispatcher: this.agent,
      headers: { authorization: `Bearer ${this.adminToken}` },
      headersTimeout: 5000,
      bodyTimeout: 5000,
    });
    await res.body.dump();
    if (res.statusCode !== 204 && res.statusCode !== 404) throw new Error(`revoke failed with status ${res.statusCode}`);
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}
