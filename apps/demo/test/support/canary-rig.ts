/**
 * Everything one canary combination runs on, started and stopped together: the demo upstream
 * (behind the {@link MintRecorder}), a real redis-server when the store is Redis, the demo
 * identity provider when the OAuth phase runs, and the demo app itself ({@link DemoProcess}).
 * Processes are stopped by PID; the app's data directory is removed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { UpstreamHandle, UpstreamOptions } from '../../../demo-upstream/dist/src/index.js';
import type { CanaryDetector } from './canary-detector.js';
import { OAuthSide, UPSTREAM_AUDIENCE } from './canary-oauth.js';
import type { PlantedSecrets } from './canary-secrets.js';
import { DemoProcess } from './demo-process.js';
import { MintRecorder } from './mint-recorder.js';
import { freePort } from './ports.js';

// Paths as seen from the compiled file (apps/demo/dist/test/support/).
const UPSTREAM_INDEX = new URL('../../../../demo-upstream/dist/src/index.js', import.meta.url).href;
const REDIS_SUPPORT = new URL('../../../../../packages/nest/dist/test/support/redis-server.js', import.meta.url).href;

/** The subset of the nest test helper the harness uses. */
export interface RedisServerHandle {
  readonly url: string;
  readonly pid: number | undefined;
  /** Kills the server by PID (an outage; the data is lost). */
  stop(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
  destroy(): Promise<void>;
}

/** Starts a real redis-server on a free loopback port (packages/nest's test helper). */
export async function launchRedis(): Promise<RedisServerHandle> {
  const mod = (await import(REDIS_SUPPORT)) as { RedisServer: { launch(): Promise<RedisServerHandle> } };
  return mod.RedisServer.launch();
}

async function startUpstream(options: UpstreamOptions): Promise<UpstreamHandle> {
  const mod = (await import(UPSTREAM_INDEX)) as { startUpstream(o: UpstreamOptions): Promise<UpstreamHandle> };
  return mod.startUpstream(options);
}

/** What a rig is started with. */
export interface RigOptions {
  adapter: 'express' | 'fastify';
  store: 'sqlite' | 'redis';
  secrets: PlantedSecrets;
  detector: CanaryDetector;
  /** Extra environment for the app (e.g. KEYWARD_DEMO_LEAK_ROUTE). */
  extraEnv?: Record<string, string>;
  /** Run the demo identity provider too, and the OAuth phase (canary-oauth.ts). */
  oauth?: boolean;
}

const rigs = new Set<CombinationRig>();

/** Everything a combination needs, started; `stop()` ends it all (by PID for processes). */
export class CombinationRig {
  private stopping: Promise<void> | undefined;

  private constructor(
    readonly upstream: UpstreamHandle,
    readonly recorder: MintRecorder,
    readonly demo: DemoProcess,
    readonly redis: RedisServerHandle | undefined,
    readonly dataDir: string,
    readonly oauth: OAuthSide | undefined,
  ) {
    rigs.add(this);
  }

  static async start(o: RigOptions): Promise<CombinationRig> {
    const s = o.secrets;
    // With OAuth: the upstream also takes the identity provider's access tokens (its port is chosen now, it starts with the app's).
    const idpPort = o.oauth ? await freePort() : 0;
    const accessTokens = o.oauth ? { accessTokens: { issuer: `http://127.0.0.1:${idpPort}`, audience: UPSTREAM_AUDIENCE } } : {};
    const upstream = await startUpstream({ port: 0, serverKeys: s.serverKeys, adminToken: s.adminToken, ...accessTokens });
    const recorder = await MintRecorder.start(upstream.url, (key, id) => o.detector.add({ kind: 'minted-key', label: `minted key ${id}`, value: key }));
    const dataDir = mkdtempSync(join(tmpdir(), 'kw-canary-'));
    let redis: RedisServerHandle | undefined;
    try {
      if (o.store === 'redis') redis = await launchRedis();
      const env: Record<string, string> = {
        KEYWARD_ADAPTER: o.adapter,
        HOST: '127.0.0.1',
        UPSTREAM_PORT: String(recorder.port),
        KEYWARD_DATA_DIR: dataDir,
        KEYWARD_SESSION_SECRETS: s.sessionSecrets.join(','),
        KEYWARD_VAULT_KEYS: s.vaultKeys.map((k) => `${k.id}:${k.base64}`).join(','),
        DEMO_UPSTREAM_KEY: s.serverKeys.join(','),
        DEMO_UPSTREAM_ADMIN_TOKEN: s.adminToken,
        KEYWARD_DEMO_USERS: s.users.map((u) => `${u.name}:${u.password}`).join(','),
        // Short lifetimes so expiry, the sweeper, key rotation and revocation all run during the traffic.
        KEYWARD_IDLE_TIMEOUT_MS: '8000',
        KEYWARD_SWEEP_INTERVAL_MS: '500',
        KEYWARD_MINT_ROTATE_MS: '1000',
        KEYWARD_MINT_GRACE_MS: '300',
        // 24 visitors' logins would queue behind the OWASP-cost password hashing (2 at a time)
        // past the 8 s idle timeout on a loaded machine; this suite is about leaks, not hashing.
        KEYWARD_DEMO_TEST_PASSWORD_HASH: '1',
        ...(redis ? { REDIS_URL: redis.url } : {}),
        ...o.extraEnv,
      };
      // A free port can be taken by another process before the app binds it: try another one then.
      for (let attempt = 1; ; attempt++) {
        const port = await freePort();
        const oauth = o.oauth ? await OAuthSide.start({ idpPort, appPort: port, users: s.users, adminToken: s.adminToken, detector: o.detector }) : undefined;
        try {
          const demo = await DemoProcess.start({ ...env, ...oauth?.env, PORT: String(port) }, oauth && ((c) => oauth.onTap(c)));
          return new CombinationRig(upstream, recorder, demo, redis, dataDir, oauth);
        } catch (e) {
          await oauth?.close();
          if (attempt >= 3 || !(e instanceof Error) || !e.message.includes('EADDRINUSE')) throw e;
        }
      }
    } catch (e) {
      await redis?.destroy();
      await recorder.close();
      await upstream.close();
      rmSync(dataDir, { recursive: true, force: true });
      throw e;
    }
  }

  /** Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      try {
        await this.demo.stop();
        await this.recorder.close();
        await this.upstream.close();
        await this.oauth?.close();
        await this.redis?.destroy();
      } finally {
        rmSync(this.dataDir, { recursive: true, force: true });
        rigs.delete(this);
      }
    })();
    return this.stopping;
  }
}

/** Stops every rig still running (app by PID, Redis by PID, upstream and recorder closed, data dir removed). */
export async function stopRigs(): Promise<void> {
  await Promise.all([...rigs].map((r) => r.stop()));
}
