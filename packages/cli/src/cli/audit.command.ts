import { writeFileSync } from 'node:fs';
import { sep } from 'node:path';
import { auditPaths, type AuditResult } from '../audit/audit.js';
import { EXIT_OK, UsageError, parse, type CliIo } from './cli-io.js';
import { emit, exitCode, failOn, format, progress } from './report-output.js';

/**
 * `keyward audit [paths...]`. With `--fix`, the fixable findings (KW002 cookie flags, KW003 literal
 * fallback secrets) are fixed in place and the report shows what is left; with `--fix --dry-run`
 * the fixes are printed as a unified diff on stdout and nothing is written.
 */
export async function runAudit(args: readonly string[], io: CliIo, help: string): Promise<number> {
  const { values, positionals } = parse(args, {
    session: { type: 'string', default: 'auto' },
    ignore: { type: 'string', multiple: true },
    fix: { type: 'boolean', default: false },
    'dry-run': { type: 'boolean', default: false },
  });
  if (values['help']) {
    io.stdout.write(help);
    return EXIT_OK;
  }
  const fmt = format(values['format'] as string);
  const threshold = failOn(values['fail-on'] as string);
  const session = values['session'] as string;
  if (session !== 'auto' && session !== 'client' && session !== 'server') throw new UsageError(`--session must be auto, client or server; got "${session}"`);
  const fix = values['fix'] === true;
  const dryRun = values['dry-run'] === true;
  if (dryRun && !fix) throw new UsageError('--dry-run goes with --fix: `keyward audit --fix --dry-run` prints the fixes as a diff and writes nothing');
  const quiet = values['quiet'] === true;
  const audit = (): AuditResult => {
    const bar = progress(io, quiet);
    const r = auditPaths({
      paths: positionals,
      cwd: io.cwd,
      ignore: (values['ignore'] as string[] | undefined) ?? [],
      session,
      onProgress: (phase, done, total) => {
        if (total >= 50) bar.update(`keyward: ${phase === 'read' ? 'reading' : 'analysing'} ${done}/${total} files`);
      },
    });
    bar.done();
    return r;
  };
  let result = audit();
  if (fix) {
    // loaded only for --fix: the fixers and their TypeScript import are not needed by a plain audit
    const [{ fixFindings }, { unifiedDiff }] = await Promise.all([import('../fix/fix-files.js'), import('../fix/unified-diff.js')]);
    const outcome = fixFindings({ sources: result.sources, findings: result.findings, cwd: io.cwd, session });
    const files = `${outcome.files.length} file${outcome.files.length === 1 ? '' : 's'}`;
    if (dryRun) {
      for (const f of outcome.files) io.stdout.write(unifiedDiff(f.display.split(sep).join('/'), f.before, f.after));
      io.stderr.write(`keyward: --dry-run: --fix would fix ${outcome.fixed} finding(s) in ${files}; nothing written\n`);
      // stdout holds the diff; the report goes only where --output says
      if (values['output'] !== undefined) emit(report(result), fmt, values, io);
      return exitCode(result.findings, threshold);
    }
    for (const f of outcome.files) writeFileSync(f.path, f.after);
    io.stderr.write(`keyward: fixed ${outcome.fixed} finding(s) in ${files}${outcome.files.length > 0 ? ': ' + outcome.files.map((f) => f.display).join(', ') : ''}\n`);
    // the report shows what is left after the fixes
    if (outcome.files.length > 0) result = audit();
  }
  emit(report(result), fmt, values, io);
  return exitCode(result.findings, threshold);
}

function report(result: AuditResult): Parameters<typeof emit>[0] {
  return { command: 'audit', findings: result.findings, durationMs: result.durationMs, filesScanned: result.filesScanned, linesScanned: result.linesScanned, sources: result.sources };
}
