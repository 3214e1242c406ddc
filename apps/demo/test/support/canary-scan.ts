/**
 * Collects everything a canary combination produced that could leak a secret (every captured
 * response, the app's stdout and stderr, the identity provider's log, the store's bytes) and
 * scans it all against every canary known at the end of the run.
 */
import { countLines, type CanaryDetector, type Hit } from './canary-detector.js';
import type { OAuthSide } from './canary-oauth.js';
import type { DemoProcess } from './demo-process.js';

/** Bytes captured from one place, named for the report. */
export interface Captured {
  source: string;
  bytes: Buffer;
}

/** The hits of one combination and the size of the app's output. */
export interface ScanResult {
  hits: Hit[];
  logLines: number;
  logBytes: number;
}

/** Scans (in this order) responses, app stdout, app stderr, the identity provider's log and the store; `name` prefixes every source. */
export function scanCombination(
  name: string,
  detector: CanaryDetector,
  run: { responses: Captured[]; demo: DemoProcess; oauth: OAuthSide | undefined; store: Captured[] },
): ScanResult {
  const hits: Hit[] = [];
  for (const r of run.responses) hits.push(...detector.scan(`${name} ${r.source}`, r.bytes));
  const stdout = Buffer.concat(run.demo.stdout);
  const stderr = Buffer.concat(run.demo.stderr);
  hits.push(...detector.scan(`${name} app stdout`, stdout), ...detector.scan(`${name} app stderr`, stderr));
  if (run.oauth) hits.push(...detector.scan(`${name} identity provider log`, Buffer.from(run.oauth.idpLog.join('\n'))));
  for (const s of run.store) hits.push(...detector.scan(`${name} ${s.source}`, s.bytes));
  return { hits, logLines: countLines(stdout) + countLines(stderr), logBytes: stdout.length + stderr.length };
}
