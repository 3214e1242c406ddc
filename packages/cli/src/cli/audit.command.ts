import { auditPaths } from '../audit/audit.js';
import { EXIT_OK, UsageError, parse, type CliIo } from './cli-io.js';
import { emit, exitCode, failOn, format, progress } from './report-output.js';

/** `keyward audit [paths...]`. */
export async function runAudit(args: readonly string[], io: CliIo, help: string): Promise<number> {
  const { values, positionals } = parse(args, {
    session: { type: 'string', default: 'auto' },
    ignore: { type: 'string', multiple: true },
  });
  if (values['help']) {
    io.stdout.write(help);
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
