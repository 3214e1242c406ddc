import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';

/** An answer read without any client-side normalisation: every header as sent, the body as text. */
export interface RawReply {
  status: number;
  headers: Record<string, string | string[]>;
  rawHeaders: string;
  body: string;
  json: any;
}

/**
 * Sends bytes exactly as given (no URL normalisation of any kind) over a fresh TCP
 * connection and reads the answer until the server closes it.
 */
export function rawHttp(port: number, head: string | Buffer, body: Buffer | string = ''): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(10_000, () => socket.destroy(new Error('raw request timed out')));
    socket.on('connect', () => {
      socket.write(head);
      if (body.length > 0) socket.write(body);
    });
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', reject);
    socket.on('close', () => {
      const all = Buffer.concat(chunks).toString('latin1');
      const end = all.indexOf('\r\n\r\n');
      const headText = end < 0 ? all : all.slice(0, end);
      let bodyText = end < 0 ? '' : all.slice(end + 4);
      const [statusLine, ...lines] = headText.split('\r\n');
      const headers: Record<string, string | string[]> = {};
      for (const line of lines) {
        const i = line.indexOf(':');
        if (i < 0) continue;
        const name = line.slice(0, i).trim().toLowerCase();
        const value = line.slice(i + 1).trim();
        const prev = headers[name];
        headers[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
      }
      if (/chunked/i.test(String(headers['transfer-encoding'] ?? ''))) bodyText = dechunk(bodyText);
      resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0), headers, rawHeaders: headText, body: bodyText, json: parseJson(bodyText) });
    });
  });
}

function dechunk(text: string): string {
  let out = '';
  let rest = text;
  for (;;) {
    const nl = rest.indexOf('\r\n');
    if (nl < 0) return out;
    const size = parseInt(rest.slice(0, nl), 16);
    if (!size) return out;
    out += rest.slice(nl + 2, nl + 2 + size);
    rest = rest.slice(nl + 2 + size + 2);
  }
}

/** A request with a raw request target and exactly the given headers (default `Connection: close`). */
export function rawGet(port: number, target: string | Buffer, headers: Record<string, string>, method = 'GET'): Promise<RawReply> {
  const lines = Object.entries({ host: `127.0.0.1:${port}`, connection: 'close', ...headers }).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  const head = Buffer.concat([Buffer.from(`${method} `, 'latin1'), Buffer.isBuffer(target) ? target : Buffer.from(target, 'latin1'), Buffer.from(` HTTP/1.1\r\n${lines}\r\n`, 'latin1')]);
  return rawHttp(port, head);
}

/** A POST with `Transfer-Encoding: chunked` (no Content-Length), over a raw socket. */
export function chunkedPost(port: number, path: string, headers: Record<string, string>, body: string): Promise<RawReply> {
  const lines = Object.entries({ host: `127.0.0.1:${port}`, ...headers, 'transfer-encoding': 'chunked', connection: 'close' }).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  const chunks = body.match(/.{1,100}/gs)!.map((c) => `${c.length.toString(16)}\r\n${c}\r\n`).join('') + '0\r\n\r\n';
  return rawHttp(port, `POST ${path} HTTP/1.1\r\n${lines}\r\n`, chunks);
}

/** node:http request with an explicit raw path (node does not normalise it). */
export function nodeRequest(url: string, method: string, path: string, headers: Record<string, string>, body?: Buffer | string): Promise<RawReply> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers as Record<string, string | string[]>, rawHeaders: res.rawHeaders.join('\n'), body: text, json: parseJson(text) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
