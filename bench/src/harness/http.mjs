// A tiny HTTP/1.1 client for the harness's own calls (login, probes): node:http with a
// keep-alive agent, so it can send the browser headers fetch would refuse or rewrite.
import { Agent, request } from 'node:http';

const agent = new Agent({ keepAlive: true, maxSockets: 16 });

export function httpCall(port, method, path, headers = {}, body, timeoutMs = 10_000, retried = false) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const req = request(
      { host: '127.0.0.1', port, method, path, agent, headers: { ...headers, ...(data ? { 'content-type': 'application/json', 'content-length': data.length } : {}) } },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', (err) => {
      // A kept-alive socket the server closed (its keep-alive timeout) just as this request
      // went out on it: the server never read the request, so it is sent once more on a new
      // socket (the race Node's documentation describes for `request.reusedSocket`).
      if (!retried && req.reusedSocket && err.code === 'ECONNRESET') resolve(httpCall(port, method, path, headers, body, timeoutMs, true));
      else reject(err);
    });
    req.end(data);
  });
}

/** `name=value` of the named cookie in a response's Set-Cookie headers. */
export function cookieFrom(res, name) {
  for (const line of [].concat(res.headers['set-cookie'] ?? [])) {
    const pair = line.split(';')[0];
    if (pair.startsWith(`${name}=`) && pair.length > name.length + 1) return pair;
  }
  return undefined;
}

export function closeHttp() {
  agent.destroy();
}
