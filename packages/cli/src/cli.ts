import { runAudit } from './cli/audit.command.js';
import { EXIT_ERROR, EXIT_OK, UsageError, type CliIo } from './cli/cli-io.js';
import { RULE_LIST } from './rules/rules.js';
import { TOOL_VERSION } from './version.js';

export { EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, type CliIo } from './cli/cli-io.js';

const HELP = `keyward ${TOOL_VERSION}: find API-key exposure through session cookies in NestJS apps

Usage:
  keyward audit [paths...] [options]     static analysis of TypeScript / JavaScript source
  keyward probe <url> [options]          live checks of a running app over HTTP(S)
  keyward legacy-sessions scan|delete [<redis-url>] [options]
                                         old session records (express-session + connect-redis)
                                         that still hold keys in plain text in Redis
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
      --fix                           fix what can be fixed in place (KW002 cookie flags: httpOnly,
                                      secure, sameSite; KW003 literal fallback secrets become
                                      required values), then report what is left
      --dry-run                       with --fix: print the fixes as a unified diff, write nothing

probe options:
      --path <path>                request this same-origin path too (repeatable)
  -u, --user <name>                log in first: POST {"username","password"} as JSON to
                                   --login-path (default /api/auth/login, Keyward's); the
                                   password from KEYWARD_LOGIN_PASSWORD (or --password-env <VAR>,
                                   or --password <p>, which other users of the machine can see)
      --login-path <path>          POST the login JSON here first to obtain session cookies
      --login-json <json>          login request body (or KEYWARD_LOGIN_JSON, or --login-json-file)
      --login-json-file <file>     read the login request body from a file
      --csrf-header <name: value>  the header the app's origin/CSRF guard asks for, sent with the
                                   login and the session's requests (default "X-CSRF: 1"; "none")
      --cookie <name=value>        send this cookie (repeatable), e.g. a session from a browser
      --header <name: value>       send this header with every request (repeatable)
      --max-requests <n>           request budget (default 20)
      --timeout <ms>               time budget for the whole probe (default 20000)
  A login that fails (no answer, not 2xx, or no cookie set) is an error (exit 2).

legacy-sessions options (scan reports; delete removes exactly the records scan reports):
      <redis-url>                  redis:// or rediss://[user:password@]host:port[/db]; or set
                                   KEYWARD_REDIS_URL (keeps the password out of the process list)
      --dump <file>                read records from a JSONL/JSON export instead of Redis
      --match <pattern>            key pattern (default "sess:*", connect-redis's prefix)
      --batch <n>                  keys per SCAN step (default 500)
      --tls-ca <file>              CA certificate(s) for rediss:// (PEM)
      --yes                        delete: confirm the deletion
      --dry-run                    delete: report what would be deleted, delete nothing

Examples:
  npx keyward audit src --fail-on high
  npx keyward audit . --format sarif --output keyward.sarif
  KEYWARD_LOGIN_PASSWORD=... npx keyward probe http://127.0.0.1:3000 --user alice --path /api/auth/session
  KEYWARD_REDIS_URL=redis://:pw@127.0.0.1:6379 npx keyward legacy-sessions scan
  KEYWARD_REDIS_URL=redis://:pw@127.0.0.1:6379 npx keyward legacy-sessions delete --yes
`;

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
        return await runAudit(rest, io, HELP);
      case 'probe':
        return await (await import('./cli/probe.command.js')).runProbe(rest, io, HELP);
      case 'legacy-sessions':
        return await (await import('./cli/legacy-sessions.command.js')).runLegacySessions(rest, io, HELP);
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
        throw new UsageError(`unknown command "${command}"; use "keyward audit", "keyward probe" or "keyward legacy-sessions" (keyward --help)`);
    }
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    io.stderr.write(`keyward: ${message}\n`);
    if (err instanceof UsageError || err instanceof TypeError) io.stderr.write('Run "keyward --help" for usage.\n');
    return EXIT_ERROR;
  }
}
