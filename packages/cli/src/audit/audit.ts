import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { analyzeSources, type AnalyzeOptions, type SourceFinding } from './analyzer.js';
import { isAuditableFile, type SourceInput } from './program.js';

/** Directories the audit never enters. */
export const DEFAULT_IGNORED_DIRS: readonly string[] = ['node_modules', 'dist', 'build', 'coverage', '.git', '.next', '.nuxt', 'out', '.turbo', '.cache', 'vendor'];

const MAX_FILE_BYTES = 2_000_000;

/** Options of {@link auditPaths}. */
export interface AuditOptions extends AnalyzeOptions {
  /** Files and directories to audit. Default: the working directory. */
  paths?: readonly string[];
  /** More directory or file names (or path prefixes, relative to cwd) to skip. */
  ignore?: readonly string[];
  /** Called while files are read and analysed. */
  onProgress?: (phase: 'read' | 'analyse', done: number, total: number) => void;
}

/** What an audit found and what it looked at. */
export interface AuditResult {
  findings: SourceFinding[];
  filesScanned: number;
  linesScanned: number;
  durationMs: number;
  /** Text of every scanned file by display path, for code frames. */
  sources: Map<string, string>;
}

/**
 * Collects the TypeScript and JavaScript files under `paths`, skipping node_modules, build output
 * and hidden directories. A path given explicitly as a file is always included.
 */
export function collectFiles(paths: readonly string[], cwd: string, ignore: readonly string[] = []): string[] {
  const out: string[] = [];
  const ignoredNames = new Set([...DEFAULT_IGNORED_DIRS, ...ignore.filter((i) => !i.includes('/'))]);
  const ignoredPrefixes = ignore.filter((i) => i.includes('/')).map((i) => resolve(cwd, i));
  const skipped = (abs: string): boolean => ignoredPrefixes.some((p) => abs === p || abs.startsWith(p + sep));
  const walk = (dir: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const abs = join(dir, e.name);
      if (e.isDirectory()) {
        if (ignoredNames.has(e.name) || e.name.startsWith('.') || skipped(abs)) continue;
        walk(abs);
      } else if (e.isFile() && isAuditableFile(e.name) && !ignoredNames.has(e.name) && !skipped(abs)) {
        out.push(abs);
      }
    }
  };
  for (const p of paths) {
    const abs = resolve(cwd, p);
    let st;
    try {
      st = statSync(abs);
    } catch {
      throw new TypeError(`keyward audit: no such file or directory: ${p}`);
    }
    if (st.isDirectory()) walk(abs);
    else if (st.isFile()) out.push(abs);
  }
  return [...new Set(out)];
}

/**
 * Audits source files: reads them, runs every static rule over them as one program (so option
 * objects are followed across imports) and returns the findings.
 *
 * @example
 * const { findings } = auditPaths({ paths: ['src'] });
 * if (findings.some((f) => f.severity === 'high')) process.exitCode = 1;
 */
export function auditPaths(options: AuditOptions = {}): AuditResult {
  const started = performance.now();
  const cwd = options.cwd ?? process.cwd();
  const files = collectFiles(options.paths && options.paths.length > 0 ? options.paths : ['.'], cwd, options.ignore);
  const inputs: SourceInput[] = [];
  const sources = new Map<string, string>();
  let lines = 0;
  files.forEach((file, i) => {
    if (statSync(file).size > MAX_FILE_BYTES) return;
    const text = readFileSync(file, 'utf8');
    inputs.push({ path: file, text });
    const rel = relative(cwd, file);
    sources.set(rel.startsWith('..') ? file : rel, text);
    lines += countLines(text);
    options.onProgress?.('read', i + 1, files.length);
  });
  const findings = analyzeSources(inputs, { ...options, cwd, onFileAnalysed: (done, total) => options.onProgress?.('analyse', done, total) });
  return { findings, filesScanned: inputs.length, linesScanned: lines, durationMs: performance.now() - started, sources };
}

function countLines(text: string): number {
  let n = text.length > 0 ? 1 : 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}
