import { execFileSync } from 'node:child_process';
import { chromium, type Browser } from 'playwright-core';

/**
 * Flags for Debian's `chromium` in CI containers: headless, no sandbox (containers run as
 * root without user namespaces), and nothing that calls home or updates itself mid-test.
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** The path of Debian's chromium (`command -v chromium`); `scripts/test.sh` installs it when missing. */
export function chromiumPath(): string {
  try {
    return execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('chromium not found: install it with `apt-get install chromium` (scripts/test.sh does this).');
  }
}

/**
 * Launches chromium through playwright-core. Playwright gives each launch a fresh,
 * temporary user-data directory (and deletes it on close), so no profile state carries
 * over between runs.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS, headless: true, timeout: 30_000 });
}
