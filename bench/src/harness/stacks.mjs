// What the harness runs: the stacks (one server process each) and the two scenarios.

/**
 * `session`: how the stack keeps sessions, for logins and the memory measurement
 * (null: no session at all).
 */
export const STACKS = [
  {
    id: 'adv-fetch',
    n: '1',
    label: 'Advisory: express-session + connect-redis 9, key in `sess:<id>:apiKey`, global `fetch`',
    short: 'advisory (fetch)',
    server: 'advisory.mjs',
    env: { CLIENT: 'fetch' },
    session: 'advisory',
  },
  {
    id: 'adv-undici',
    n: '2',
    label: 'Advisory, with `undici.request` + keep-alive Agent (Keyward\'s client)',
    short: 'advisory (undici)',
    server: 'advisory.mjs',
    env: { CLIENT: 'undici' },
    session: 'advisory',
  },
  {
    id: 'kw-express',
    n: '3',
    label: 'Keyward on Express (server key)',
    short: 'Keyward Express',
    server: 'keyward.mjs',
    env: { ADAPTER: 'express', CREDENTIAL: 'server' },
    session: 'keyward',
  },
  {
    id: 'kw-express-vault',
    n: '3v',
    label: 'Keyward on Express, a key per session sealed in the vault (extra row)',
    short: 'Keyward Express, vault key',
    server: 'keyward.mjs',
    env: { ADAPTER: 'express', CREDENTIAL: 'minted' },
    session: 'keyward',
  },
  // Run only when named in --only (issue 24): the access token of a connected account (OAuth),
  // sealed in the session record, attached as `Authorization: Bearer`; needs the authorization
  // server process (bench/src/servers/idp.mjs), started only then, and adds the refresh stampede.
  {
    id: 'kw-express-oauth',
    n: '3o',
    label: 'Keyward on Express, the OAuth access token of a connected account (sealed in the session, `Authorization: Bearer`; extra row)',
    short: 'Keyward Express, OAuth',
    server: 'keyward.mjs',
    env: { ADAPTER: 'express', CREDENTIAL: 'oauth' },
    session: 'keyward',
    optional: true,
  },
  {
    id: 'kw-fastify',
    n: '4',
    label: 'Keyward on Fastify (server key)',
    short: 'Keyward Fastify',
    server: 'keyward.mjs',
    env: { ADAPTER: 'fastify', CREDENTIAL: 'server' },
    session: 'keyward',
  },
  // Run only when named in --only (issue 22): the proxied call with call limits configured
  // (one per session, one per user, never reached), counted in the Redis store.
  {
    id: 'kw-express-limit',
    n: '3l',
    label: 'Keyward on Express (server key), proxy call limits per session and per user (extra row)',
    short: 'Keyward Express, limits',
    server: 'keyward.mjs',
    env: { ADAPTER: 'express', CREDENTIAL: 'server', PROXY_LIMIT: '1' },
    session: 'keyward',
    optional: true,
  },
  {
    id: 'kw-fastify-limit',
    n: '4l',
    label: 'Keyward on Fastify (server key), proxy call limits per session and per user (extra row)',
    short: 'Keyward Fastify, limits',
    server: 'keyward.mjs',
    env: { ADAPTER: 'fastify', CREDENTIAL: 'server', PROXY_LIMIT: '1' },
    session: 'keyward',
    optional: true,
  },
  {
    id: 'ceiling',
    n: '5',
    label: 'Ceiling: NestJS on Express, no session (proxy: undici + keep-alive Agent)',
    short: 'ceiling',
    server: 'ceiling.mjs',
    env: {},
    session: null,
  },
  // Run only when named in --only: the ceiling with, in turn, what every session check on
  // Express pays before Keyward's own code (bench/README.md, "The session check on Express").
  {
    id: 'ceiling-headers',
    n: '5h',
    label: 'Plain NestJS on Express + the response headers Keyward sets (extra row)',
    short: 'ceiling + headers',
    server: 'ceiling.mjs',
    env: { HEADERS: 'keyward' },
    session: null,
    optional: true,
  },
  {
    id: 'ceiling-read',
    n: '5r',
    label: 'Plain NestJS on Express + those headers + one HGETALL (ioredis, auto-pipelining) in a global guard (extra row)',
    short: 'ceiling + headers + read',
    server: 'ceiling.mjs',
    env: { HEADERS: 'keyward', SESSION_READ: 'redis' },
    session: null,
    optional: true,
  },
];

export const SCENARIOS = [
  {
    id: 'session',
    title: 'Session check: authenticated `GET /api/me` returning a small JSON',
    path: '/api/me',
    // Stack 2 runs the very same code as stack 1 for this route (no outgoing call).
    stacks: ['adv-fetch', 'kw-express', 'kw-fastify', 'ceiling', 'ceiling-headers', 'ceiling-read'],
  },
  {
    id: 'proxy',
    title: 'Proxied call: authenticated `GET /api/proxy/up/items` forwarded to the upstream with the key',
    path: '/api/proxy/up/items',
    stacks: ['adv-fetch', 'adv-undici', 'kw-express', 'kw-express-vault', 'kw-express-oauth', 'kw-express-limit', 'kw-fastify', 'kw-fastify-limit', 'ceiling'],
  },
];

/** Headers every request carries (a same-origin fetch from the app's page). */
export function browserHeaders(cookie) {
  return {
    ...(cookie ? { Cookie: cookie } : {}),
    'x-csrf': '1',
    'sec-fetch-site': 'same-origin',
    accept: 'application/json',
  };
}

export const COOKIE_NAME = { advisory: 'adv_sid', keyward: 'sid' };

/**
 * The Cookie a stack without sessions is sent: a browser sends the app's session cookie on
 * every request whatever the route does with it, so the ceiling parses the same bytes
 * (a value of the same length as Keyward's `<id>.<signature>`).
 */
export const PLACEHOLDER_COOKIE = `${COOKIE_NAME.keyward}=${'A'.repeat(43)}.${'B'.repeat(43)}`;
