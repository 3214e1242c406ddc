import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ERROR_CATALOGUE, RedisStore, ServerKeyProvider, type RedisStoreOptions } from '../src/index.js';
import { ADAPTERS } from './support/adapters.js';
import { upstreamService } from './support/bff-options.js';
import { FailoverLoad, type Outcome } from './support/failover-load.js';
import { RedisClusterReplicas } from './support/redis-cluster-replicas.js';
import type { RedisNode } from './support/redis-node.js';
import { RedisSentinel, type Kill } from './support/redis-sentinel.js';
import { secret, vaultKey } from './support/secrets.js';
import { startTestApp, type RunningApp } from './support/test-app.js';
import { startUpstream, type UpstreamHandle } from './support/upstream.js';

/*
 * A Redis failover under load (issue 27). Two app instances (Express and Fastify) share a
 * Sentinel-managed Redis, then a Cluster with a replica per master; virtual users log in,
 * check their session, call the proxy, log out, revoke and hit the per-user cap, while the
 * master is killed with SIGKILL three times (the old master rejoins as a replica each time).
 *
 * Before each kill, the master's replication link is cut for a moment (replicas paused by
 * SIGSTOP, their connections dropped by the master) while a burst of logouts runs: the
 * writes a master acknowledges in that moment are the ones a failover loses. With durable
 * ends, those logouts cannot be acknowledged (no replica has them): they answer 503 and the
 * client does not believe them, so nothing the client saw end comes back. Without durable
 * ends, they answer 204 and the promoted replica never had them: the test counts how many
 * ended sessions come back, and reports it.
 *
 * Figures are printed as `[failover]` lines; nothing is asserted about time.
 */

const KILLS = 3;
const USERS = 12;
const BURST = 16;
/** The cut before a kill stays well under the topologies' down-after (2 s) / node timeout (1 s). */
const CUT_MS = 600;

const NOT_DURABLE = 'KW_STORE_NOT_DURABLE';
const durableMissing = ERROR_CATALOGUE[NOT_DURABLE] === undefined ? `RedisStore has no durableEnds yet (${NOT_DURABLE} is not in the error catalogue): merge h-sentinel` : false;

interface Topology {
  readonly name: string;
  storeOptions(): RedisStoreOptions;
  /** Cuts the replication of the master that `kill(round)` will kill. */
  cut(round: number): Promise<{ resume(): void }>;
  kill(round: number): Promise<Kill>;
  waitPromoted(kill: Kill): Promise<void>;
  restartKilled(): Promise<void>;
  /** Failovers so far, planned or not (undefined where the topology cannot tell). */
  failovers?(): number;
  /** Every running Redis process (data nodes and sentinels): none may keep an app's connection once the apps are closed. */
  nodes(): RedisNode[];
}

let upstream: UpstreamHandle;
const SERVER_KEY = secret();
before(async () => {
  upstream = await startUpstream({ serverKeys: [SERVER_KEY], adminToken: secret() });
});
after(() => upstream?.close());

/** Per instance and kill: kill → first 2xx of a request sent after the kill; kill → first 2xx after the last KW_STORE_UNAVAILABLE; 503s in the window by code. */
function windowFigures(outcomes: readonly Outcome[], instance: number, kill: Kill, end: number) {
  const mine = outcomes.filter((o) => o.instance === instance && o.sentAt >= kill.at && o.at <= end);
  const ok = (o: Outcome) => o.status >= 200 && o.status < 300 && o.op !== 'probe';
  const firstOk = mine.filter(ok).sort((a, b) => a.at - b.at)[0];
  const unavailable = mine.filter((o) => o.status === 503 && o.code !== NOT_DURABLE);
  const lastDown = Math.max(kill.at, ...unavailable.map((o) => o.sentAt));
  const recovered = mine.filter((o) => ok(o) && o.sentAt >= lastDown).sort((a, b) => a.at - b.at)[0];
  return {
    firstOkMs: firstOk ? firstOk.at - kill.at : undefined,
    recoveredMs: recovered ? recovered.at - kill.at : undefined,
    unavailable: unavailable.length,
    notDurable: mine.filter((o) => o.status === 503 && o.code === NOT_DURABLE).length,
    requests: mine.length,
    slowestMs: Math.max(0, ...outcomes.filter((o) => o.instance === instance && o.at >= kill.at && o.at <= end).map((o) => o.at - o.sentAt)),
  };
}

/**
 * One run: both instances under load, KILLS kills with a cut before each; returns what the
 * client saw. Asserts what holds in every run (recovery, no bleed, only expected statuses).
 */
async function failoverRun(topology: Topology, durable: boolean) {
  const label = `${topology.name} ${durable ? 'durable ends' : 'WITHOUT durable ends'}`;
  const tag = `${topology.name}-${durable ? 'd' : 'n'}`;
  const sessionSecret = secret();
  const vault = vaultKey('k1');
  const apps: RunningApp[] = [];
  let running: FailoverLoad | undefined;
  try {
    for (const adapter of ADAPTERS) {
      const store = new RedisStore({ ...topology.storeOptions(), prefix: `kw:fo:${tag}:`, durableEnds: durable });
      apps.push(
        await startTestApp(adapter, {
          session: { secrets: [sessionSecret], store, sweepIntervalMs: 0, maxPerUser: 3, rotateEveryMs: false },
          vault: { keys: [vault] },
          credentials: { server: new ServerKeyProvider({ keys: [SERVER_KEY] }) },
          proxy: { services: { server: upstreamService(upstream.url, 'server') } },
          logRequests: false,
        }),
      );
    }
    upstream.resetStats();
    const load = new FailoverLoad(apps.map((a, i) => ({ name: ADAPTERS[i]!, url: a.url })), tag, { users: USERS, thinkMs: [20, 40] });
    running = load;
    const failoversBefore = topology.failovers?.();
    load.start();
    await sleep(1000);
    let burstSent = 0;
    const kills: Kill[] = [];
    const promoted: number[] = [];
    for (let round = 0; round < KILLS; round++) {
      const burst = await load.prepareBurst(round, BURST);
      const cut = await topology.cut(round);
      let kill: Kill;
      const ending = load.endBurst(burst);
      try {
        await Promise.race([ending, sleep(CUT_MS)]);
        kill = await topology.kill(round);
      } finally {
        cut.resume();
      }
      burstSent += burst.length;
      kills.push(kill);
      await topology.waitPromoted(kill);
      promoted.push(Date.now());
      await topology.restartKilled();
      await ending;
      await Promise.all(apps.map((_, i) => load.waitServing(i, 30_000)));
      await sleep(500);
      const end = Date.now();
      apps.forEach((_, i) => {
        const f = windowFigures(load.outcomes, i, kill, end);
        console.log(
          `[failover] ${label}, kill ${round + 1}/${KILLS} (master :${kill.port}), ${ADAPTERS[i]}: first 2xx ${f.firstOkMs ?? '-'} ms after the kill, ` +
            `recovered (first 2xx after the last 503) ${f.recoveredMs ?? '-'} ms, 503s in the window ${f.unavailable} KW_STORE_UNAVAILABLE + ${f.notDurable} ${NOT_DURABLE} of ${f.requests} requests, slowest answer ${f.slowestMs} ms`,
        );
        assert.ok(f.recoveredMs !== undefined, `${label}: ${ADAPTERS[i]} served no request after kill ${round + 1}`);
      });
    }
    await load.stop();
    const unplanned = failoversBefore === undefined ? undefined : topology.failovers!() - failoversBefore - KILLS;
    if (unplanned) console.log(`[failover] ${label}: ${unplanned} failover(s) nobody asked for (Sentinel took a live master for down: the machine stalled longer than down-after-milliseconds)`);
    const burstAcked = load.ended().filter((h) => h.endedBy === 'burst').length;
    const back = await load.probeEnded();
    const proxiedHits = upstream.stats().requests;
    const endedBy = new Map<string, number>();
    for (const h of load.ended()) endedBy.set(h.endedBy!, (endedBy.get(h.endedBy!) ?? 0) + 1);
    const counts = load.outcomes.reduce((m, o) => m.set(o.status, (m.get(o.status) ?? 0) + 1), new Map<number, number>());
    console.log(
      `[failover] ${label}: ${load.outcomes.length} requests (${[...counts].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}:${n}`).join(' ')}), ` +
        `${load.ended().length} sessions the client saw end (${[...endedBy].map(([k, n]) => `${k} ${n}`).join(', ')}), ${back.length} came back after the failovers ` +
        `(${load.endedServed.size} answered 2xx during the run); burst logouts during the cuts: ${burstAcked} of ${burstSent} acknowledged (answers: ${[...load.burstAnswers].map(([k, n]) => `${k} x${n}`).join(', ')}); ` +
        `sessions lost (logins and touches are asynchronous): ${load.lostSessions}; cap checks ${load.capEnded} (+${load.capMissed} not observable)`,
    );
    assert.deepEqual(load.violations.slice(0, 20), [], `${label}: violations (bleed, unexpected status, transport errors)`);
    assert.equal(proxiedHits, load.proxied2xx, `${label}: every proxied call that reached the upstream was answered 2xx after its session check, and only those`);
    assert.ok(load.ended().length > 0, `${label}: the run ended sessions to check`);
    if (load.endedServedLog.length > 0) console.log(`[failover] ${label}: kills at ${kills.map((k) => k.at).join(', ')}, promotions seen at ${promoted.join(', ')}`);
    return { back, unplanned, endedServed: load.endedServedLog, ended: load.ended().length, burstAcked };
  } finally {
    await running?.stop();
    await Promise.all(apps.map((a) => a.close()));
  }
}

/**
 * After `app.close()`, no connection any store made is left on any node (the main client,
 * the ends' duplicate and its Cluster node connections, the Sentinel lookups): a leaked
 * client would reconnect forever. Polled briefly, as a closed socket takes a moment to be seen.
 */
async function assertNoClientsLeft(topology: Topology): Promise<void> {
  let left: string[] = [];
  for (let i = 0; i < 30; i++) {
    left = (await Promise.all(topology.nodes().map(async (n) => (await n.appClients()).map((c) => `:${n.port} ${c}`)))).flat();
    if (left.length === 0) return;
    await sleep(100);
  }
  assert.deepEqual(left, [], 'connections left open after every app was closed');
}

function runs(topology: () => Topology) {
  it('with durable ends: fails closed, recovers on both instances, and no session the client saw end comes back', { skip: durableMissing, timeout: 120_000 }, async () => {
    const t = topology();
    const r = await failoverRun(t, true);
    await assertNoClientsLeft(t);
    const why = r.unplanned ? ` (with ${r.unplanned} unplanned failover(s) of a live master: see the [failover] lines)` : '';
    assert.equal(r.endedServed.length, 0, `ended sessions answered 2xx during the run${why}: ${r.endedServed.join('; ')}`);
    assert.equal(r.back.length, 0, `resurrected sessions${why}: ${r.back.map((h) => h.endedBy).join(', ')}`);
  });

  it('without durable ends: the same run, counting the ended sessions that come back', { timeout: 120_000 }, async () => {
    const t = topology();
    const r = await failoverRun(t, false);
    await assertNoClientsLeft(t);
    // Not asserted to be 0 (nor above 0): this is what durable ends prevent, reported.
    console.log(`[failover] ${topology().name} WITHOUT durable ends: ${r.back.length} of ${r.ended} ended sessions came back (${r.burstAcked} logouts were acknowledged while no replica could have them)`);
    assert.ok(Number.isInteger(r.back.length) && r.ended > 0);
  });
}

describe('Redis failover under load: Sentinel (1 master, 2 replicas, 3 sentinels)', () => {
  let s: RedisSentinel;
  before(async () => {
    s = await RedisSentinel.launch();
  });
  after(() => s?.destroy());
  runs(() => ({
    name: 'sentinel',
    storeOptions: () => ({ sentinels: s.sentinelAddresses, sentinelName: s.masterName }),
    cut: () => s.cutReplication(),
    kill: () => s.killMaster(),
    waitPromoted: async (kill) => void (await s.waitForNewMaster(kill.port)),
    restartKilled: () => s.restartKilled(),
    failovers: () => s.switches(),
    nodes: () => [...s.nodes, ...s.sentinelNodes],
  }));
});

describe('Redis failover under load: Cluster (3 masters, a replica each)', () => {
  let c: RedisClusterReplicas;
  let target = 0;
  before(async () => {
    c = await RedisClusterReplicas.launch();
  });
  after(() => c?.destroy());
  runs(() => ({
    name: 'cluster',
    storeOptions: () => ({ cluster: c.seeds }),
    cut: async (round) => {
      target = (await c.masters())[round % 3]!;
      return c.cutReplication(target);
    },
    kill: () => c.killMaster({ port: target }),
    waitPromoted: (kill) => c.waitForPromotion(kill.port),
    restartKilled: () => c.restartKilled(),
    nodes: () => c.nodes,
  }));
});
