import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { auditPaths } from './audit/audit.js';
import { isSeverity, severityRank, type Finding, type Severity } from './finding.js';
import { probe } from './probe/probe.js';
import { colorsFor } from './report/colors.js';
import { formatJson } from './report/json.reporter.js';
import type { Report } from './report/report.js';
import { formatSarif } from './report/sarif.reporter.js';
import { formatText } from './report/text.reporter.js';
import { RULE_LIST } from './rules/rules.js';
import { TOOL_VERSION } from './version.js';

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

const HELP = `keyward ${TOOL_VERSION}: find API-key exposure through session cookies in NestJS apps

Usage:
  keyward audit [paths...] [options]     static analysis of TypeScript / JavaScript source
  keyward probe <url> [options]          live checks of a running app over HTTP(S)
  keyward rules                          list the rules

Common options:
  -f, --format <text|json|sarif>   output format (default: text)
  -o, --output <file>              write the report to a file instead of stdout
      --fail-on <severity|none>    exit 1 when a finding is at least this severe:
                                   info, low, medium, high (default), critical, none
      --no-color                   no ANSI colours (also NO_COLOR=1; FORCE_COLOR=1 forces them)
  -q, --quiet                      no progress on stderr

audit options:
      --session <auto|client|server>  where session data lives (default: auto, from imports
                                      and package.json); a key in a client-side session is KW001
      --ignore <name|path>            skip a directory/file name or a path (repeatable);
                                      node_modules, dist, build, coverage and dot-dirs are skipped

probe options:
      --path <path>                request this same-origin path too (repeatable)
      --login-path <path>          POST the login JSON here first to obtain session cookies
      --login-json <json>          login request body (or KEYWARD_LOGIN_JSON, or --login-json-file)
      --login-json-file <file>     read the login request body from a file
      --cookie <name=value>        send this cookie (repeatable), e.g. a session from a browser
      --header <name: value>       send this header with every request (repeatable), e.g. "X-CSRF: 1"
      --max-requests <n>           request budget (default 20)
      --timeout <ms>               time budget for the whole probe (default 20000)

Examples:
  npx keyward audit src --fail-on high
  npx keyward audit . --format sarif --output keyward.sarif
  npx keyward probe http://127.0.0.1:3000 --login-path /auth/login --login-json-file login.json --path /api/me
`;

class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * Runs the CLI with the given arguments and returns the exit code.
 *
 * @example
 * process.exitCode = await runCli(process.argv.slice(2));
 */
export async function runCli(argv: readonly string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() }): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'audit':
        return await runAudit(rest, io);
      case 'probe':
        return await runProbe(rest, io);
      case 'rules':
        io.stdout.write(RULE_LIST.map((r) => `${r.id}  ${r.severity.padEnd(6)}  ${r.name.padEnd(42)} ${r.sources.join('+')}\n      ${r.title}`).join('\n') + '\n');
        return EXIT_OK;
      case '--version':
      case '-v':
        io.stdout.write(`${TOOL_VERSION}\n`);
        return EXIT_OK;
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        io.stdout.write(HELP);
        return EXIT_OK;
      default:
        throw new UsageError(`unknown command "${command}"; use "keyward audit" or "keyward probe" (keyward --help)`);
    }
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    io.stderr.write(`keyward: ${message}\n`);
    if (err instanceof UsageError || err instanceof TypeError) io.stderr.write('Run "keyward --help" for usage.\n');
    return EXIT_ERROR;
  }
}

const COMMON = {
  format: { type: 'string', short: 'f', default: 'text' },
  output: { type: 'string', short: 'o' },
  'fail-on': { type: 'string', default: 'high' },
  'no-color': { type: 'boolean', default: false },
  color: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

type ParsedValues = Record<string, string | boolean | (string | boolean)[] | undefined>;
type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean; default?: string | boolean }>;

function parse(args: readonly string[], options: OptionSpec): { values: ParsedValues; positionals: string[] } {
  try {
    const r = parseArgs({ args: [...args], options: { ...COMMON, ...options }, allowPositionals: true, strict: true });
    return { values: r.values as ParsedValues, positionals: r.positionals };
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

function parseHeaders(raw: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of raw) {
    const i = h.indexOf(':');
    const name = i > 0 ? h.slice(0, i).trim() : '';
    const value = i > 0 ? h.slice(i + 1).trim() : '';
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || /[\r\n\0]/.test(value)) {
      throw new UsageError(`--header must look like "Name: value" without CR/LF; got ${JSON.stringify(h.slice(0, 40))}`);
    }
    out[name.toLowerCase()] = value;
  }
  return out;
}

function failOn(value: string): Severity | 'none' {
  if (value === 'none' || isSeverity(value)) return value;
  throw new UsageError(`--fail-on must be one of info, low, medium, high, critical, none; got "${value}"`);
}

function format(value: string): 'text' | 'json' | 'sarif' {
  if (value === 'text' || value === 'json' || value === 'sarif') return value;
  throw new UsageError(`--format must be text, json or sarif; got "${value}"`);
}

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0 || n > 1_000_000) throw new UsageError(`--${name} must be a positive integer; got "${value}"`);
  return n;
}

function emit(report: Report, fmt: 'text' | 'json' | 'sarif', values: ParsedValues, io: CliIo): void {
  const output = values['output'] as string | undefined;
  const toFile = output !== undefined;
  const colors = colorsFor(toFile ? undefined : io.stdout, io.env, values['no-color'] ? false : (values['color'] as boolean | undefined));
  const text = fmt === 'json' ? formatJson(report) : fmt === 'sarif' ? formatSarif(report) : formatText(report, colors);
  if (toFile) {
    writeFileSync(output, text);
    if (fmt !== 'text') io.stderr.write(`keyward: ${report.findings.length} finding(s) written to ${output}\n`);
  } else io.stdout.write(text);
}

function exitCode(findings: readonly Finding[], threshold: Severity | 'none'): number {
  if (threshold === 'none') return EXIT_OK;
  return findings.some((f) => severityRank(f.severity) >= severityRank(threshold)) ? EXIT_FINDINGS : EXIT_OK;
}

function progress(io: CliIo, quiet: boolean): { update(line: string): void; done(): void } {
  const live = !quiet && io.stderr.isTTY === true;
  let shown = false;
  let last = 0;
  return {
    update(line) {
      if (!live) return;
      const now = Date.now();
      if (now - last < 80) return;
      last = now;
      io.stderr.write(`\r\u001b[2K${line}`);
      shown = true;
    },
    done() {
      if (shown) io.stderr.write('\r\u001b[2K');
    },
  };
}

async function runAudit(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(args, {
    session: { type: 'string', default: 'auto' },
    ignore: { type: 'string', multiple: true },
  });
  if (values['help']) {
    io.stdout.write(HELP);
    return EXIT_OK;
  }
  const fmt = format(values['format'] as string);
  const threshold = failOn(values['fail-on'] as string);
  const session = values['session'] as string;
  if (session !== 'auto' && session !== 'client' && session !== 'server') throw new UsageError(`--session must be auto, client or server; got "${session}"`);
  const bar = progress(io, values['quiet'] === true);
  const result = auditPaths({
    paths: positionals,
    cwd: io.cwd,
    ignore: (values['ignore'] as string[] | undefined) ?? [],
    session,
    onProgress: (phase, done, total) => {
      if (total >= 50) bar.update(`keyward: ${phase === 'read' ? 'reading' : 'analysing'} ${done}/${total} files`);
    },
  });
  bar.done();
  emit(
    { command: 'audit', findings: result.findings, durationMs: result.durationMs, filesScanned: result.filesScanned, linesScanned: result.linesScanned, sources: result.sources },
    fmt,
    values,
    io,
  );
  return exitCode(result.findings, threshold);
}

async function runProbe(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(args, {
    path: { type: 'string', multiple: true },
    'login-path': { type: 'string' },
    'login-url': { type: 'string' },
    'login-json': { type: 'string' },
    'login-json-file': { type: 'string' },
    cookie: { type: 'string', multiple: true },
    header: { type: 'string', multiple: true },
    'max-requests': { type: 'string' },
    timeout: { type: 'string' },
  });
  if (values['help']) {
    io.stdout.write(HELP);
    return EXIT_OK;
  }
  if (positionals.length !== 1) throw new UsageError('keyward probe takes exactly one URL');
  const fmt = format(values['format'] as string);
  const threshold = failOn(values['fail-on'] as string);
  const loginPath = (values['login-path'] as string | undefined) ?? (values['login-url'] as string | undefined);
  let loginBody: unknown;
  const rawLogin =
    (values['login-json'] as string | undefined) ??
    (values['login-json-file'] !== undefined ? readFileSync(values['login-json-file'] as string, 'utf8') : undefined) ??
    (loginPath ? io.env['KEYWARD_LOGIN_JSON'] : undefined);
  if (rawLogin !== undefined) {
    try {
      loginBody = JSON.parse(rawLogin);
    } catch {
      // never echo the body: it holds credentials
      throw new UsageError('the login JSON is not valid JSON');
    }
    if (!loginPath) throw new UsageError('--login-json needs --login-path');
  } else if (loginPath) loginBody = {};
  const bar = progress(io, values['quiet'] === true);
  const result = await probe({
    url: positionals[0]!,
    paths: (values['path'] as string[] | undefined) ?? [],
    ...(loginPath ? { login: { path: loginPath, body: loginBody } } : {}),
    cookies: (values['cookie'] as string[] | undefined) ?? [],
    headers: parseHeaders((values['header'] as string[] | undefined) ?? []),
    maxRequests: positiveInt('max-requests', values['max-requests'] as string | undefined, 20),
    timeoutMs: positiveInt('timeout', values['timeout'] as string | undefined, 20_000),
    onRequest: (method, url, n) => bar.update(`keyward: request ${n}: ${method} ${url}`),
  });
  bar.done();
  if (result.requests === 0 || (result.findings.length === 0 && result.notes.some((n) => /ECONNREFUSED|no response/.test(n)))) {
    io.stderr.write(`keyward: could not reach ${result.target}: ${result.notes.join('; ')}\n`);
    return EXIT_ERROR;
  }
  emit({ command: 'probe', findings: result.findings, durationMs: result.durationMs, target: result.target, requests: result.requests, notes: result.notes }, fmt, values, io);
  return exitCode(result.findings, threshold);
}
