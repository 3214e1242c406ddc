/**
 * A preload for the demo app under the canary harness (`node --import token-tap.js main.js`,
 * with a pipe on file descriptor 3): every token the app receives from an authorization
 * server's token endpoint (access, refresh and ID tokens of the OIDC sign-in and of the
 * connected accounts, at the code exchange and at each refresh) is written to fd 3, one JSON
 * line each, so the harness knows their values and searches everything else for them. It
 * reads a copy of the response (`clone()`); what the app gets is untouched. Nothing is
 * written to stdout or stderr, and without fd 3 (outside the harness) nothing at all.
 */
import { writeSync } from 'node:fs';

const FIELDS = ['access_token', 'refresh_token', 'id_token'] as const;
const original = globalThis.fetch;

function urlOf(input: Parameters<typeof fetch>[0]): URL | undefined {
  try {
    return new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
  } catch {
    return undefined;
  }
}

globalThis.fetch = async function tappedFetch(input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]): Promise<Response> {
  const res = await original(input, init);
  const url = urlOf(input);
  if (url && url.pathname.endsWith('/token') && (res.headers.get('content-type') ?? '').includes('json')) {
    const copy = res.clone();
    copy.json().then(
      (body: unknown) => {
        for (const field of FIELDS) {
          const value = (body as Record<string, unknown> | null)?.[field];
          if (typeof value !== 'string') continue;
          try {
            writeSync(3, `${JSON.stringify({ field, value })}\n`);
          } catch {
            // no fd 3: not under the harness
          }
        }
      },
      () => undefined,
    );
  }
  return res;
};
