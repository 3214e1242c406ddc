import { readFileSync } from 'node:fs';
import { DEFAULT_LOGIN_PATH, probe } from '../probe/probe.js';
import { EXIT_ERROR, EXIT_OK, UsageError, parse, parseHeader, positiveInt, type CliIo, type ParsedValues } from './cli-io.js';
import { emit, exitCode, failOn, format, progress } from './report-output.js';

/** The environment variable a login password is read from by default. */
export const LOGIN_PASSWORD_ENV = 'KEYWARD_LOGIN_PASSWORD';

/**
 * The login request of `keyward probe`: `--user` (body `{"username","password"}`, path
 * `/api/auth/login` unless `--login-path` says otherwise) or `--login-json[-file]`. Never echoes a
 * body or a password.
 */
function loginOf(values: ParsedValues, io: CliIo): { path: string; body: unknown } | undefined {
  const user = values['user'] as string | undefined;
  const path = (values['login-path'] as string | undefined) ?? (values['login-url'] as string | undefined);
  const rawJson =
    (values['login-json'] as string | undefined) ??
    (values['login-json-file'] !== undefined ? readFileSync(values['login-json-file'] as string, 'utf8') : undefined) ??
    (path && user === undefined ? io.env['KEYWARD_LOGIN_JSON'] : undefined);
  const passwordEnv = values['password-env'] as string | undefined;
  const passwordGiven = values['password'] !== undefined || passwordEnv !== undefined;
  if (user !== undefined) {
    if (rawJson !== undefined) throw new UsageError('give either --user (with a password) or --login-json, not both');
    const envName = passwordEnv ?? LOGIN_PASSWORD_ENV;
    const password = (values['password'] as string | undefined) ?? io.env[envName];
    if (password === undefined) throw new UsageError(`--user needs a password: set ${envName} (or --password-env <VAR>, or --password, which other users of the machine can see)`);
    return { path: path ?? DEFAULT_LOGIN_PATH, body: { username: user, password } };
  }
  if (passwordGiven) throw new UsageError('--password and --password-env need --user');
  if (rawJson !== undefined) {
    let body: unknown;
    try {
      body = JSON.parse(rawJson);
    } catch {
      // never echo the body: it holds credentials
      throw new UsageError('the login JSON is not valid JSON');
    }
    if (!path) throw new UsageError('--login-json needs --login-path');
    return { path, body };
  }
  return path ? { path, body: {} } : undefined;
}

/** `keyward probe <url>`. */
export async function runProbe(args: readonly string[], io: CliIo, help: string): Promise<number> {
  const { values, positionals } = parse(args, {
    path: { type: 'string', multiple: true },
    'login-path': { type: 'string' },
    'login-url': { type: 'string' },
    'login-json': { type: 'string' },
    'login-json-file': { type: 'string' },
    user: { type: 'string', short: 'u' },
    password: { type: 'string' },
    'password-env': { type: 'string' },
    'csrf-header': { type: 'string' },
    cookie: { type: 'string', multiple: true },
    header: { type: 'string', multiple: true },
    'max-requests': { type: 'string' },
    timeout: { type: 'string' },
  });
  if (values['help']) {
    io.stdout.write(help);
    return EXIT_OK;
  }
  if (positionals.length !== 1) throw new UsageError('keyward probe takes exactly one URL');
  const fmt = format(values['format'] as string);
  const threshold = failOn(values['fail-on'] as string);
  const login = loginOf(values, io);
  const headers: Record<string, string> = {};
  for (const h of (values['header'] as string[] | undefined) ?? []) {
    const { name, value } = parseHeader(h, '--header');
    headers[name] = value;
  }
  const csrfRaw = values['csrf-header'] as string | undefined;
  const csrfHeader = csrfRaw === undefined ? undefined : csrfRaw === 'none' ? false : parseHeader(csrfRaw, '--csrf-header');
  const bar = progress(io, values['quiet'] === true);
  const result = await probe({
    url: positionals[0]!,
    paths: (values['path'] as string[] | undefined) ?? [],
    ...(login ? { login } : {}),
    ...(csrfHeader !== undefined ? { csrfHeader } : {}),
    cookies: (values['cookie'] as string[] | undefined) ?? [],
    headers,
    maxRequests: positiveInt('max-requests', values['max-requests'] as string | undefined, 20),
    timeoutMs: positiveInt('timeout', values['timeout'] as string | undefined, 20_000),
    onRequest: (method, url, n) => bar.update(`keyward: request ${n}: ${method} ${url}`),
  });
  bar.done();
  if (result.loginFailure !== undefined) {
    io.stderr.write(`keyward: login failed: ${result.loginFailure}; no check ran (without a session they would miss what a logged-in user gets)\n`);
    return EXIT_ERROR;
  }
  if (result.requests === 0 || (result.findings.length === 0 && result.notes.some((n) => /ECONNREFUSED|no response/.test(n)))) {
    io.stderr.write(`keyward: could not reach ${result.target}: ${result.notes.join('; ')}\n`);
    return EXIT_ERROR;
  }
  emit({ command: 'probe', findings: result.findings, durationMs: result.durationMs, target: result.target, requests: result.requests, notes: result.notes }, fmt, values, io);
  return exitCode(result.findings, threshold);
}
