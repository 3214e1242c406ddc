// Checks a running `npm start` as a newcomer would: waits for the ready line in its output,
// then GET /healthz, the page, and a login as the first demo user.
// `node scripts/start-check.mjs --log <file> --pid <pid> --url http://127.0.0.1:<port>`;
// exit 0 when every check passed, 1 (with the reason) otherwise. Used by .ci/run.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { log: { type: 'string' }, pid: { type: 'string' }, url: { type: 'string' }, 'timeout-ms': { type: 'string', default: '600000' } } });
if (!values.log || !values.pid || !values.url) {
  console.error('usage: node scripts/start-check.mjs --log <file> --pid <pid> --url <app url> [--timeout-ms 600000]');
  process.exit(2);
}
const base = values.url.replace(/\/$/, '');
const fail = (why) => {
  console.error(`[start-check] ${why}`);
  process.exit(1);
};
const alive = () => {
  try {
    process.kill(Number(values.pid), 0);
    return true;
  } catch {
    return false;
  }
};

// 1. The ready line (`npm start` installs and builds first: minutes on a fresh clone).
const started = Date.now();
const deadline = started + Number(values['timeout-ms']);
for (;;) {
  const out = readFileSync(values.log, 'utf8');
  if (out.includes(`Keyward demo ready: ${base}`)) break;
  if (!alive()) fail('npm start exited before its ready line');
  if (Date.now() > deadline) fail(`no ready line within ${values['timeout-ms']} ms`);
  await new Promise((r) => setTimeout(r, 500));
}
console.log(`[start-check] ready line after ${((Date.now() - started) / 1000).toFixed(1)} s`);

// 2. /healthz, the page, a login.
const health = await fetch(`${base}/healthz`);
const healthBody = await health.json().catch(() => null);
if (health.status !== 200 || healthBody?.status !== 'ok') fail(`/healthz answered ${health.status} ${JSON.stringify(healthBody)}`);

const page = await fetch(`${base}/`);
const html = await page.text();
if (page.status !== 200 || !/text\/html/.test(page.headers.get('content-type') ?? '') || !/<form/i.test(html)) fail(`GET / answered ${page.status} ${page.headers.get('content-type')}, not the page`);

const headers = { 'content-type': 'application/json', 'x-csrf': '1', origin: base, 'sec-fetch-site': 'same-origin' };
const login = await fetch(`${base}/api/auth/login`, { method: 'POST', headers, body: JSON.stringify({ username: 'alice', password: 'alice-password' }) });
const loginBody = await login.json().catch(() => null);
const cookie = login.headers.getSetCookie().find((c) => /HttpOnly/i.test(c));
if (login.status !== 200 || loginBody?.user?.name !== 'alice' || !cookie) fail(`login answered ${login.status} ${JSON.stringify(loginBody)}, cookie ${cookie ? 'set' : 'missing'}`);

const session = await fetch(`${base}/api/auth/session`, { headers: { cookie: cookie.split(';')[0], 'sec-fetch-site': 'same-origin' } });
const sessionBody = await session.json().catch(() => null);
if (session.status !== 200 || sessionBody?.user?.name !== 'alice') fail(`the session after login answered ${session.status}`);
console.log('[start-check] /healthz 200, the page, login as alice and her session: ok');

// 3. The demo identity provider, when npm start runs it (the line it prints after the ready line).
const idp = /Demo identity provider: (http:\/\/[^\s]+)/.exec(readFileSync(values.log, 'utf8'))?.[1]?.replace(/\/$/, '');
if (idp) {
  const discovery = await fetch(`${idp}/.well-known/openid-configuration`);
  const doc = await discovery.json().catch(() => null);
  if (discovery.status !== 200 || doc?.issuer !== idp || typeof doc?.authorization_endpoint !== 'string') fail(`the identity provider's discovery answered ${discovery.status}, issuer ${doc?.issuer}`);
  console.log(`[start-check] identity provider ${idp}: discovery ok`);
} else if (!process.env.DEMO_IDP_ISSUER) fail('npm start printed no "Demo identity provider: <url>" line');
