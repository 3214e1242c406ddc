/**
 * A transparent HTTP relay in front of the demo app that keeps the bodies of the back-channel
 * logout requests it forwards. The identity provider is given the relay's origin as the app's
 * (`DEMO_IDP_APP_URL`), so the test can replay a logout token the provider really sent. The
 * Host header is passed on unchanged: to the app, the relay's origin is its own.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export class RecordingRelay {
  /** Raw bodies POSTed to `/api/auth/oidc/backchannel-logout`, in order. */
  readonly backchannelBodies: string[] = [];
  private constructor(private readonly server: Server) {}

  get origin(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Listens on `port` (0: a free one) and forwards every request to `http://127.0.0.1:<targetPort>`. */
  static async start(port: number, targetPort: () => number): Promise<RecordingRelay> {
    const relay: RecordingRelay = new RecordingRelay(createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        if (req.method === 'POST' && req.url?.split('?')[0] === '/api/auth/oidc/backchannel-logout') relay.backchannelBodies.push(body.toString());
        const out = request({ host: '127.0.0.1', port: targetPort(), method: req.method, path: req.url, headers: req.headers }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
          answer.pipe(res);
        });
        out.on('error', () => {
          res.writeHead(502);
          res.end();
        });
        out.end(body);
      });
    }));
    await new Promise<void>((resolve) => relay.server.listen(port, '127.0.0.1', resolve));
    return relay;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
