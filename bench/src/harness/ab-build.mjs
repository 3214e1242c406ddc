#!/usr/bin/env node
// Builds bench/.ab/fixes/dist: a copy of packages/nest/dist with the performance fixes the
// profiling of 2026-11-26 proposes (see bench/README.md), patched into the compiled output,
// for `node bench/run.mjs --compare bench/.ab/fixes/dist/src/index.js`. Each patch checks
// that the code it replaces is still there: once a fix lands in packages/nest/src (or the
// code moves), leave it out with --only.
//   node bench/src/harness/ab-build.mjs [--only memo,nobody,timer,onemw,hgetall]
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const ALL = ['memo', 'nobody', 'timer', 'onemw', 'hgetall'];
const { values } = parseArgs({ options: { only: { type: 'string' } } });
const fixes = new Set(values.only ? values.only.split(',') : ALL);
const out = join(root, 'bench/.ab/fixes');
rmSync(out, { recursive: true, force: true });
cpSync(join(root, 'packages/nest/dist'), join(out, 'dist'), { recursive: true });
const src = join(out, 'dist/src');

function patch(file, from, to) {
  const p = join(src, file);
  const text = readFileSync(p, 'utf8');
  if (!text.includes(from)) throw new Error(`${file}: the code this patch replaces is not there any more (fixed already?); leave it out with --only`);
  writeFileSync(p, text.replace(from, to));
}

// SessionEngine.resolve(): verify each distinct cookie value once (bounded memo).
if (fixes.has('memo')) {
  patch('session/session.engine.js', `    async resolve(cookieValue) {
        const verified = this.ring.verify(cookieValue);
        if (!verified)
            return { state: 'invalid' };
        const key = storeKeyOf(verified.sessionId);`, `    verifiedCookies = new Map();
    async resolve(cookieValue) {
        let verified = this.verifiedCookies.get(cookieValue);
        if (verified === undefined) {
            const v = this.ring.verify(cookieValue);
            if (!v)
                return { state: 'invalid' };
            verified = { sessionId: v.sessionId, signedWithOldSecret: v.signedWithOldSecret, key: storeKeyOf(v.sessionId) };
            if (this.verifiedCookies.size >= 10000)
                this.verifiedCookies.delete(this.verifiedCookies.keys().next().value);
            this.verifiedCookies.set(cookieValue, verified);
        }
        const key = verified.key;`);
}
// readBody(): no Content-Length and no Transfer-Encoding means no body.
if (fixes.has('nobody')) {
  patch('proxy/proxy.middleware.js', '    if (req.readable && !req.readableEnded) {', `    if (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined)
        return undefined;
    if (req.readable && !req.readableEnded) {`);
}
// ProxyService.send(): one cleared timer instead of AbortSignal.timeout() per call.
if (fixes.has('timer')) {
  patch('proxy/proxy.service.js', "import { Agent, errors as undiciErrors, request } from 'undici';", "import { Agent, errors as undiciErrors, request } from 'undici';\nimport { EventEmitter } from 'node:events';");
  patch('proxy/proxy.service.js', `        let res;
        const signal = AbortSignal.timeout(svc.timeoutMs);
        try {`, `        const deadline = new EventEmitter();
        const timer = setTimeout(() => deadline.emit('abort'), svc.timeoutMs);
        try {
            return await this.sendWithin(svc, target, method, headers, body, forms, deadline);
        }
        finally {
            clearTimeout(timer);
        }
    }
    async sendWithin(svc, target, method, headers, body, forms, signal) {
        let res;
        try {`);
}
// KeywardModule.configure(): the three per-request middlewares as one router layer.
if (fixes.has('onemw')) {
  patch('keyward.module.js', "consumer.apply(RequestContextMiddleware, TransportMiddleware, CorsMiddleware).forRoutes('{*splat}');", "consumer.apply(KeywardHttpMiddleware).forRoutes('{*splat}');");
  patch('keyward.module.js', "import { Inject, Module, RequestMethod } from '@nestjs/common';", "import { Inject, Injectable, Module, RequestMethod } from '@nestjs/common';");
  patch('keyward.module.js', 'let KeywardModule = class KeywardModule', `let KeywardHttpMiddleware = class KeywardHttpMiddleware {
    constructor(options) {
        this.context = new RequestContextMiddleware(options);
        this.transport = new TransportMiddleware(options);
        this.cors = new CorsMiddleware(options);
    }
    use(req, res, next) {
        this.context.use(req, res, () => this.transport.use(req, res, () => this.cors.use(req, res, next)));
    }
};
KeywardHttpMiddleware = __decorate([
    Injectable(),
    __param(0, Inject(RESOLVED_OPTIONS)),
    __metadata("design:paramtypes", [Object])
], KeywardHttpMiddleware);
let KeywardModule = class KeywardModule`);
}
// RedisStore.load(): plain HGETALL; the touch script only when a touch is due.
if (fixes.has('hgetall')) {
  patch('stores/redis.store.js', `    async load(key, t) {
        const flat = await this.run(() => this.client.kwLoad(this.recordKey(key), t.now, t.touchAfterMs, t.idleMs, this.graceMs));
        return flat.length === 0 ? null : this.decode(key, flat);
    }`, `    async load(key, t) {
        const rk = this.recordKey(key);
        const flat = await this.run(() => this.client.call('HGETALL', rk));
        if (flat.length === 0)
            return null;
        const s = this.decode(key, flat);
        if (s.lastSeenAt > t.now - t.touchAfterMs || expiryOf(s) <= t.now)
            return s;
        const touched = await this.run(() => this.client.kwLoad(rk, t.now, t.touchAfterMs, t.idleMs, this.graceMs));
        return touched.length === 0 ? null : this.decode(key, touched);
    }`);
}
console.log(`bench/.ab/fixes/dist: packages/nest/dist with ${[...fixes].join(', ')}; run:\n  node bench/run.mjs --no-build --compare bench/.ab/fixes/dist/src/index.js`);
