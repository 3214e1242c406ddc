// The authorization server of the OAuth rows (issue 24): the library's test provider (panva's
// oidc-provider, packages/nest/dist/test/support/oidc-provider.js: in-memory, PKCE, refresh-token
// rotation, RFC 7009 revocation), in its own process, with a control server on another port for
// the harness. Prints "ready <control port>" and "issuer <url>".
// Control routes (loopback only, JSON):
//   POST /client {clientId, clientSecret, redirectUris}   registers a confidential client
//   POST /ttl?s=N                                          access-token lifetime of tokens issued from now on
//   GET  /stats                                            {authorization_code, refresh_token, revocations}: token endpoint requests
//   GET  /active?token=...                                 {active}: the upstream's check of a bearer token (RFC 7662's question)
import { createServer } from 'node:http';

const { startTestIdp } = await import(new URL('../../../packages/nest/dist/test/support/oidc-provider.js', import.meta.url).href);
const idp = await startTestIdp();

function body(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {}));
    req.on('error', reject);
  });
}

const control = createServer(async (req, res) => {
  const url = new URL(req.url, 'http://control.invalid');
  let answer;
  try {
    if (req.method === 'POST' && url.pathname === '/client') {
      idp.addClient(await body(req));
      answer = { ok: true };
    } else if (req.method === 'POST' && url.pathname === '/ttl') {
      idp.setAccessTokenTtl(Number(url.searchParams.get('s')));
      answer = { ok: true };
    } else if (url.pathname === '/stats') {
      answer = { authorization_code: idp.tokenRequests('authorization_code'), refresh_token: idp.tokenRequests('refresh_token'), revocations: idp.revocations().length };
    } else if (url.pathname === '/active') {
      answer = { active: idp.isActiveAccessToken(url.searchParams.get('token') ?? '') };
    }
  } catch (e) {
    res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: String(e?.message ?? e) }));
    return;
  }
  res.writeHead(answer ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(answer ?? { error: 'not found' }));
});
control.keepAliveTimeout = 65_000;
control.listen(0, '127.0.0.1', () => {
  console.log(`issuer ${idp.issuer}`);
  console.log(`ready ${control.address().port}`);
});
process.on('SIGTERM', () => {
  control.close();
  idp.close().finally(() => process.exit(0));
});
