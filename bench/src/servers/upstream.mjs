// The upstream API every stack forwards to: plain node:http, a small JSON answer, and a
// 401 without the right `x-api-key`. Env: PORT, API_KEY. Prints "ready <port>".
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

const server = createServer((req, res) => {
  const ok = keyOk(req.headers['x-api-key']);
  res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json; charset=utf-8', 'content-length': ok ? body.length : refused.length });
  res.end(ok ? body : refused);
});
// Keep idle keep-alive connections like a typical API gateway does, so the proxies' pools
// are not reset between rounds.
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(`ready ${server.address().port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
