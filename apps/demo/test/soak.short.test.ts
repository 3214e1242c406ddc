import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const SOAK = fileURLToPath(new URL('../../../../scripts/soak.mjs', import.meta.url));

describe('soak (short version; run `node scripts/soak.mjs --minutes 10` for the full one)', () => {
  it('mixed traffic on Redis with minted-key rotation runs without errors', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [SOAK, '--seconds', '10', '--concurrency', '6', '--json'], { timeout: 90_000 });
    const report = JSON.parse(stdout.trim().split('\n').pop()!) as { totals: { requests: number; errors: number; proxied: number; logouts: number } };
    console.log(`soak short: ${JSON.stringify(report.totals)}`);
    assert.equal(report.totals.errors, 0);
    assert.ok(report.totals.proxied > 0 && report.totals.logouts > 0);
  });
});
