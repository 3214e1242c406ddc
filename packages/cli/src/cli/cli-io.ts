import { parseArgs } from 'node:util';

/** Where the CLI writes and what it reads from its environment (injectable for tests). */
export interface CliIo {
  stdout: { write(s: string): unknown; isTTY?: boolean };
  stderr: { write(s: string): unknown; isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** Exit codes: 0 nothing at or above `--fail-on`, 1 findings at or above it, 2 usage or run error. */
export const EXIT_OK = 0;
export const EXIT_FINDINGS = 1;
export const EXIT_ERROR = 2;

/** A wrong command line: reported with a pointer to `keyward --help`, exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Options every command takes. */
export const COMMON = {
  format: { type: 'string', short: 'f', default: 'text' },
  output: { type: 'string', short: 'o' },
  'fail-on': { type: 'string', default: 'high' },
  'no-color': { type: 'boolean', default: false },
  color: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export type ParsedValues = Record<string, string | boolean | (string | boolean)[] | undefined>;
export type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean; default?: string | boolean }>;

/** Parses a command's arguments (its options plus {@link COMMON}); a wrong one is a {@link UsageError}. */
export function parse(args: readonly string[], options: OptionSpec): { values: ParsedValues; positionals: string[] } {
  try {
    const r = parseArgs({ args: [...args], options: { ...COMMON, ...options }, allowPositionals: true, strict: true });
    return { values: r.values as ParsedValues, positionals: r.positionals };
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

/** `--name <n>`: a positive integer up to 1 000 000, or the fallback. */
export function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0 || n > 1_000_000) throw new UsageError(`--${name} must be a positive integer; got "${value}"`);
  return n;
}

/** A `Name: value` header from the command line; CR/LF refused. */
export function parseHeader(h: string, option: string): { name: string; value: string } {
  const i = h.indexOf(':');
  const name = i > 0 ? h.slice(0, i).trim() : '';
  const value = i > 0 ? h.slice(i + 1).trim() : '';
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || /[\r\n\0]/.test(value)) {
    throw new UsageError(`${option} must look like "Name: value" without CR/LF; got ${JSON.stringify(h.slice(0, 40))}`);
  }
  return { name: name.toLowerCase(), value };
}
