import 'reflect-metadata';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Reflector } from '@nestjs/core';
import { AllowAnonymous, SkipOriginCheck } from '../src/index.js';
import { RoutePolicies } from '../src/http/route-policy.js';

class Base {
  read(): void {}
  @AllowAnonymous()
  open(): void {}
}
@AllowAnonymous()
class PublicController extends Base {}
class PrivateController extends Base {}
@SkipOriginCheck({ reason: 'server-to-server webhook, verified by signature' })
class HookController {
  hook(): void {}
}

describe('RoutePolicies: route metadata read once per (class, handler)', () => {
  const routes = new RoutePolicies(new Reflector());

  it('a handler inherited by two controllers gets each class\'s own metadata; the handler\'s own wins', () => {
    const read = Base.prototype.read;
    assert.equal(routes.of(PublicController, read).allowAnonymous, true);
    assert.equal(routes.of(PrivateController, read).allowAnonymous, false);
    assert.equal(routes.of(PrivateController, Base.prototype.open).allowAnonymous, true);
    assert.equal(routes.of(HookController, HookController.prototype.hook).skipOriginCheck, true);
    assert.equal(routes.of(HookController, HookController.prototype.hook).usesCredentials, false);
  });

  it('answers a repeated lookup from memory (the same frozen object) and reads a context without class or handler every time', () => {
    const a = routes.of(PrivateController, Base.prototype.read);
    assert.equal(routes.of(PrivateController, Base.prototype.read), a);
    assert.ok(Object.isFrozen(a));
    assert.deepEqual(routes.of(undefined, Base.prototype.open), { usesCredentials: false, skipOriginCheck: false, allowAnonymous: true });
  });
});
