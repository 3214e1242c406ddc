// The upstream API every stack forwards to: plain node:http, a small JSON answer, and a
// 401 without the right `x-api-key`. Env: PORT, API_KEY. Prints "ready <port>".
// BEARER_CHECK_URL (the OAuth rows, issue 24): also accepts `Authorization: Bearer <token>`
// when that URL answers {"active":true} for it; asked once per token, then remembered (as a
// resource server caches a JWT's validation), so a row pays the check once, not per call.
import { createServer } from 'node:http';
import { timingSafeEqual } from 'node:crypto';

const key = Buffer.from(process.env.API_KEY ?? '', 'utf8');
if (key.length === 0) throw new Error('upstream: API_KEY is required');
const body = Buffer.from(JSON.stringify({ items: [{ id: 1, name: 'alpha' }, { id: 2, name: 'beta' }], total: 2 }));
const refused = Buffer.from('{"error":"bad key"}');

function keyOk(given) {
  if (typeof given !== 'string') return false;
  const b = Buffer.from(given, 'utf8');
  return b.length === key.length && timingSafeEqual(b, key);
}

const bearerCheck = process.env.BEARER_CHECK_URL;
const activeTokens = new Map();
function bearerOk(authorization) {
  if (!bearerCheck || typeof authorization !== 'string' || !authorization.startsWith('Bearer ')) return false;
  const token = authorization.slice(7);
  let verdict = activeTokens.get(token);
  if (!verdict) {
    if (activeTokens.size > 10_000) activeTokens.clear();
    verdict = fetch(`${bearerCheck}?token=${encodeURIComponent(token)}`).then((r) => r.json()).then((b) => b.active === true, () => false);
    activeTokens.set(token, verdict);
  }
  return verdict;
}

function answer(res, ok) {
  res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json; charset=utf-8', 'content-length': ok ? body.length : refused.length });
  res.end(ok ? body : refused);
}

const server = createServer((req, res) => {
  // The key rows stay synchronous; only a bearer token not yet known waits for its check.
  if (keyOk(req.headers['x-api-key'])) return answer(res, true);
  const bearer = bearerOk(req.headers.authorization);
  if (bearer === false) return answer(res, false);
  bearer.then((ok) => answer(res, ok));
});
// Keep idle keep-alive connections like a typical API gateway does, so the proxies' pools
// are not reset between rounds.
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(`ready ${server.address().port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
