import { after, before } from 'node:test';
import { startTestIdp, type TestIdp } from './oidc-provider.js';
import { secret } from './secrets.js';
import { startUpstream, type UpstreamHandle } from './upstream.js';

/**
 * The OAuth suites' rig: starts the test authorization server and the test upstream (which
 * also accepts the server's live access tokens) before the file's tests, hands both to
 * `onStart`, and stops them after.
 * @example
 * let idp: TestIdp; let upstream: UpstreamHandle;
 * idpSuite((i, u) => ((idp = i), (upstream = u)));
 */
export function idpSuite(onStart: (idp: TestIdp, upstream: UpstreamHandle) => void): void {
  let idp: TestIdp | undefined;
  let upstream: UpstreamHandle | undefined;
  before(async () => {
    idp = await startTestIdp();
    const started = idp;
    upstream = await startUpstream({ serverKeys: [secret()], adminToken: secret() });
    upstream.acceptBearer((t) => started.isActiveAccessToken(t));
    onStart(idp, upstream);
  });
  after(async () => {
    await upstream?.close();
    await idp?.close();
  });
}
