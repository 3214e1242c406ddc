import { readFileSync } from 'node:fs';

/** Name of the tool in reports. */
export const TOOL_NAME = 'keyward';

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** Version of @keyward/cli. */
export const TOOL_VERSION: string = readVersion();
