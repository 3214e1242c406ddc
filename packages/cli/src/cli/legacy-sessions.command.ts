import { DumpSource } from '../legacy-sessions/dump-source.js';
import { DEFAULT_BATCH, DEFAULT_SESSION_PATTERN, scanLegacySessions } from '../legacy-sessions/legacy-sessions.js';
import type { RecordSource } from '../legacy-sessions/record-source.js';
import { MissingRedisClientError, RedisSource } from '../legacy-sessions/redis-source.js';
import { EXIT_ERROR, EXIT_OK, UsageError, parse, positiveInt, type CliIo } from './cli-io.js';
import { emit, exitCode, failOn, format, progress } from './report-output.js';

/** The environment variable the Redis URL is read from when none is given (keeps a password out of `ps`). */
export const REDIS_URL_ENV = 'KEYWARD_REDIS_URL';

/**
 * `keyward legacy-sessions scan|delete [<redis-url>]`: old session records that hold keys in
 * plain text. `scan` reports them; `delete --yes` deletes exactly those (each only while it still
 * holds a secret); `delete --dry-run` reports what it would delete.
 */
export async function runLegacySessions(args: readonly string[], io: CliIo, help: string): Promise<number> {
  const [action, ...rest] = args;
  if (action === undefined || action === '--help' || action === '-h') {
    io.stdout.write(help);
    return EXIT_OK;
  }
  if (action !== 'scan' && action !== 'delete') throw new UsageError(`keyward legacy-sessions takes "scan" or "delete", got "${action}"`);
  const { values, positionals } = parse(rest, {
    dump: { type: 'string' },
    match: { type: 'string', default: DEFAULT_SESSION_PATTERN },
    batch: { type: 'string' },
    'tls-ca': { type: 'string' },
    yes: { type: 'boolean', default: false },
    'dry-run': { type: 'boolean', default: false },
  });
  if (values['help']) {
    io.stdout.write(help);
    return EXIT_OK;
  }
  const fmt = format(values['format'] as string);
  const threshold = failOn(values['fail-on'] as string);
  const dump = values['dump'] as string | undefined;
  const deleting = action === 'delete';
  const dryRun = values['dry-run'] === true;
  if (positionals.length > 1) throw new UsageError('keyward legacy-sessions takes at most one Redis URL');
  if (dump !== undefined && positionals.length > 0) throw new UsageError('give either a Redis URL or --dump <file>, not both');
  if (!deleting && (values['yes'] || dryRun)) throw new UsageError('--yes and --dry-run belong to "keyward legacy-sessions delete"');
  if (deleting && dump !== undefined) throw new UsageError('a dump is read-only: run "delete" against the Redis server');
  if (deleting && !dryRun && values['yes'] !== true) {
    throw new UsageError('"delete" removes session records: confirm with --yes (or see what it would delete with --dry-run)');
  }
  if (deleting && dryRun && values['yes'] === true) throw new UsageError('give --yes or --dry-run, not both');
  const pattern = values['match'] as string;
  if (pattern.length === 0) throw new UsageError('--match must not be empty (e.g. "sess:*")');
  const url = positionals[0] ?? (dump === undefined ? io.env[REDIS_URL_ENV] : undefined);
  if (dump === undefined && url === undefined) throw new UsageError(`give a Redis URL (or set ${REDIS_URL_ENV}), or --dump <file>`);
  const batchSize = positiveInt('batch', values['batch'] as string | undefined, DEFAULT_BATCH);

  let source: RecordSource;
  try {
    source = dump !== undefined ? new DumpSource(dump) : await RedisSource.connect({ url: url!, ...(values['tls-ca'] ? { tlsCaFile: values['tls-ca'] as string } : {}) });
  } catch (err) {
    if (err instanceof TypeError) throw new UsageError(err.message);
    if (err instanceof MissingRedisClientError) {
      io.stderr.write(`keyward: ${err.message}\n`);
      return EXIT_ERROR;
    }
    throw err;
  }
  const bar = progress(io, values['quiet'] === true);
  try {
    const result = await scanLegacySessions({
      source,
      pattern,
      batchSize,
      delete: deleting && !dryRun,
      onProgress: (n) => bar.update(`keyward: ${n} records read`),
    });
    bar.done();
    emit(
      {
        command: 'legacy-sessions',
        findings: result.findings,
        durationMs: result.durationMs,
        target: result.target,
        notes: result.notes,
        records: {
          pattern: result.pattern,
          scanned: result.recordsScanned,
          withSecrets: result.recordsWithSecrets,
          ...(deleting ? (dryRun ? { dryRun: true } : { deleted: result.deleted, kept: result.kept }) : {}),
        },
      },
      fmt,
      values,
      io,
    );
    // after a deletion, what counts is what is left: every reported record deleted is a success
    if (deleting && !dryRun) return result.kept > 0 ? exitCode(result.findings, threshold) : EXIT_OK;
    return exitCode(result.findings, threshold);
  } finally {
    bar.done();
    await source.close();
  }
}
