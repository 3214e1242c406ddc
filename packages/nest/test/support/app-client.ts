import { Client, type Reply } from './http-client.js';

/**
 * A {@link Client} that behaves like the app's own page: every state-changing request
 * carries `X-CSRF: 1` and the app's own `Origin`, as the origin guard requires. Tests
 * that are not about CSRF use this so that they keep passing with the guard on.
 */
export class AppClient extends Client {
  override request(method: string, path: string, init: { body?: unknown; headers?: Record<string, string>; cookie?: string } = {}): Promise<Reply> {
    const unsafe = !['GET', 'HEAD', 'OPTIONS'].includes(method.toUpperCase());
    const headers = unsafe ? { 'x-csrf': '1', origin: new URL(this.baseUrl).origin, ...init.headers } : init.headers;
    return super.request(method, path, { ...init, headers });
  }

  put(path: string, body?: unknown, init?: { headers?: Record<string, string>; cookie?: string }): Promise<Reply> {
    return this.request('PUT', path, { ...init, body });
  }

  delete(path: string, init?: { headers?: Record<string, string>; cookie?: string }): Promise<Reply> {
    return this.request('DELETE', path, init);
  }
}
