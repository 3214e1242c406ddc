import { Agent, request as httpRequest, createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A transparent HTTP proxy in front of the demo upstream that records the value of every
 * key the upstream mints (`POST /admin/keys` answers `{id, key, expiresAt}`, and that is
 * the only place a minted key is ever shown). The demo app is pointed at this proxy, so
 * the canary suite knows every minted key without reaching into the upstream's internals.
 */
export class MintRecorder {
  /** Every minted key seen, in order. */
  readonly keys: string[] = [];
  /** Every key id seen. */
  readonly ids: string[] = [];
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 128 });

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** Listens on a free loopback port and forwards everything to `target` (`http://127.0.0.1:<port>`). */
  static async start(target: string, onMint?: (key: string, id: string) => void): Promise<MintRecorder> {
    const upstream = new URL(target);
    let self: MintRecorder | undefined;
    const server = createServer((req, res) => self!.forward(upstream, req, res, onMint));
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    self = new MintRecorder(server, (server.address() as AddressInfo).port);
    return self;
  }

  private forward(upstream: URL, req: IncomingMessage, res: ServerResponse, onMint?: (key: string, id: string) => void): void {
    const isMint = req.method === 'POST' && (req.url ?? '').split('?')[0] === '/admin/keys';
    const out = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent: this.agent },
      (up) => {
        if (!isMint) {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        up.on('data', (c: Buffer) => chunks.push(c));
        up.on('end', () => {
          const body = Buffer.concat(chunks);
          try {
            const parsed = JSON.parse(body.toString('utf8')) as { id?: unknown; key?: unknown };
            if (typeof parsed.key === 'string' && typeof parsed.id === 'string') {
              this.keys.push(parsed.key);
              this.ids.push(parsed.id);
              onMint?.(parsed.key, parsed.id);
            }
          } catch {
            // not a mint answer (an error body): nothing to record
          }
          res.writeHead(up.statusCode ?? 502, up.headers);
          res.end(body);
        });
        up.on('error', () => res.destroy());
      },
    );
    out.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    // If the app gives up (timeout, size limit), stop the upstream call too.
    res.on('close', () => {
      if (!res.writableFinished) out.destroy();
    });
    req.pipe(out);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    this.agent.destroy();
  }
}
