/**
 * The canary harness: plants random, recognisable canary values for every kind of secret
 * the demo holds, runs the demo app (a child process) against the demo upstream, drives
 * mixed traffic through it, and collects everything that could leak a secret: every
 * response (status, headers, body), every byte the app writes to stdout/stderr, and the
 * store's raw bytes (Redis DUMP payloads and values, SQLite database/WAL/SHM files).
 *
 * What it knows as canaries:
 * - planted: the server keys, the upstream admin token, the session secrets, the vault
 *   keys (their base64 text and their raw 32 bytes), the users' own (BYOK) keys;
 * - learned: every key the upstream mints (recorded by the `MintRecorder`) and every
 *   session cookie the app issues (value, session id and signature).
 *
 * The rooms: canary-secrets.ts (what is planted), canary-rig.ts and demo-process.ts (the
 * processes, started and stopped), canary-traffic.ts and canary-scenarios.ts (the requests),
 * canary-oauth.ts (the OAuth phase), canary-store.ts (the store's bytes), canary-scan.ts
 * (collecting and scanning it all). This file runs one combination from end to end.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { CanaryDetector, Hit } from './canary-detector.js';
import { runOAuthPhase } from './canary-oauth.js';
import { CombinationRig, stopRigs, type RigOptions } from './canary-rig.js';
import { scanCombination } from './canary-scan.js';
import { liveThenLogoutAll, storeOutage, visit } from './canary-scenarios.js';
import { plantedCanaries, userKeys, type PlantedSecrets } from './canary-secrets.js';
import { StoreCapture } from './canary-store.js';
import { Traffic, Visitor } from './canary-traffic.js';
import { stopDemoProcesses } from './demo-process.js';

export { plantSecrets, plantedCanaries, type PlantedSecrets } from './canary-secrets.js';

/**
 * Stops everything a test may have left running (for `after()`): every rig (app by PID,
 * Redis by PID, upstream and recorder closed, data dir removed), then any app process.
 */
export async function stopAll(): Promise<void> {
  await stopRigs();
  await stopDemoProcesses();
}

export interface CombinationOptions extends RigOptions {
  /** Concurrent visitors (the bound on concurrency). */
  workers: number;
  /** Rounds of the full request mix per visitor. */
  rounds: number;
}

export interface CombinationResult {
  name: string;
  requests: number;
  transportErrors: number;
  logLines: number;
  bytes: { responses: number; logs: number; store: number };
  /** Canaries of this combination (planted + learned here). */
  canaries: number;
  /** Canaries searched for (every one known so far, earlier combinations' included). */
  canariesSearched: number;
  patterns: number;
  storeSources: number;
  minted: number;
  redactedEchoes: number;
  /** Tokens the app received from the identity provider (learned through the tap), by field. */
  oauthTokens: { access_token: number; refresh_token: number; id_token: number } | undefined;
  /** RP-initiated logout answers whose id_token_hint (the one token handed out on purpose) was masked, and how many of them the detector caught unmasked. */
  idTokenHints: { masked: number; detected: number };
  hits: Hit[];
  unexpected: string[];
  statusCounts: Map<string, number>;
  ms: number;
}

/**
 * Runs one adapter x store combination: starts everything, drives the traffic with
 * `workers` concurrent visitors, ends every session (logout-all per user), collects the
 * app's output and the store's bytes, stops everything and scans it all.
 */
export async function runCombination(o: CombinationOptions): Promise<CombinationResult> {
  const started = Date.now();
  const name = `${o.adapter}+${o.store}`;
  const planted = plantedCanaries(o.secrets);
  for (const c of planted) o.detector.add(c);
  const knownBefore = o.detector.canaryCount;
  const rig = await CombinationRig.start(o);
  const traffic = new Traffic(rig.demo.url, (c) => o.detector.add(c));
  const store = new StoreCapture(o.store, rig.dataDir, rig.redis);
  let idTokenHints = { masked: 0, detected: 0 };
  try {
    // Users' own keys: registered at the upstream (so proxied calls with them succeed), all canaries;
    // and user keys that the app must refuse (bad JSON, control characters, no origin, oversized): canaries too.
    const keys = userKeys(rig.upstream, o.detector);
    await traffic.send('healthz', 'GET', '/healthz', { expect: [200] });
    await traffic.send('page', 'GET', '/', { expect: [200] });
    const visitors = Array.from({ length: o.workers }, (_, w) => new Visitor(traffic, o.secrets.users[w % o.secrets.users.length]!));
    await Promise.all(visitors.map((v, w) => visit(v, w, o.rounds, keys)));
    // Sign-in with OpenID Connect and the demo-oauth connection; some stay signed in and connected for the snapshot.
    if (rig.oauth) idTokenHints = await runOAuthPhase(rig.demo.url, rig.oauth, o.secrets.users.slice(0, 6), traffic, o.detector);
    await store.snapshot('after traffic');
    // A store outage: requests must fail closed (503), and the failure paths must not leak either.
    if (rig.redis) await storeOutage(rig.redis, visitors, keys);
    // Every user holds a stored key and a live session with a minted key: snapshot the store like that.
    await liveThenLogoutAll(traffic, o.secrets.users, visitors, keys, () => store.snapshot('live'));
    // Let the sweeper and background revocations run, and their log lines land.
    await sleep(800);
    await store.snapshot('after logout-all');
    await traffic.close();
    await rig.demo.stop();
    await store.snapshot('after shutdown');
    if (rig.recorder.keys.length !== rig.upstream.adminStats().minted) {
      throw new Error(`mint recorder saw ${rig.recorder.keys.length} keys, the upstream minted ${rig.upstream.adminStats().minted}: some minted keys are not canaries`);
    }
  } finally {
    await traffic.close();
    await rig.stop();
  }

  // Scan everything against every canary known now.
  const scan = scanCombination(name, o.detector, { responses: traffic.responses, demo: rig.demo, oauth: rig.oauth, store: store.sources });
  return {
    name,
    requests: traffic.requests,
    transportErrors: traffic.errors,
    logLines: scan.logLines,
    bytes: { responses: traffic.bytes(), logs: scan.logBytes, store: store.bytes() },
    canaries: planted.length + o.detector.canaryCount - knownBefore,
    canariesSearched: o.detector.canaryCount,
    patterns: o.detector.patternTotal,
    storeSources: store.sources.length,
    minted: rig.recorder.keys.length,
    redactedEchoes: traffic.redactedEchoes,
    oauthTokens: rig.oauth ? { ...rig.oauth.learned } : undefined,
    idTokenHints,
    hits: scan.hits,
    unexpected: traffic.unexpected,
    statusCounts: traffic.statusCounts,
    ms: Date.now() - started,
  };
}

// ------------------------------------------------------------------ the deliberate leak

/**
 * Starts the demo with its test-only leak route, logs in, calls `GET /api/debug/leak`
 * (which writes the server key to stdout with a raw `fs.writeSync`, past every redaction
 * layer) and returns the scan of the captured output.
 */
export async function runDeliberateLeak(secrets: PlantedSecrets, detector: CanaryDetector): Promise<{ hits: Hit[]; status: number; logBytes: number }> {
  for (const c of plantedCanaries(secrets)) detector.add(c);
  const rig = await CombinationRig.start({ adapter: 'express', store: 'sqlite', secrets, detector, extraEnv: { KEYWARD_DEMO_LEAK_ROUTE: '1' } });
  const traffic = new Traffic(rig.demo.url, (c) => detector.add(c));
  let status = 0;
  try {
    const v = new Visitor(traffic, secrets.users[0]!);
    await v.login();
    status = (await v.send('debug-leak', 'GET', '/api/debug/leak', { expect: [200] })).status;
    // The write is synchronous in the app; wait until its bytes have crossed the pipe.
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && !Buffer.concat(rig.demo.stdout).includes('deliberate leak')) await sleep(20);
  } finally {
    await traffic.close();
    await rig.stop();
  }
  const stdout = Buffer.concat(rig.demo.stdout);
  return { hits: detector.scan('leak-route app stdout', stdout), status, logBytes: stdout.length };
}
