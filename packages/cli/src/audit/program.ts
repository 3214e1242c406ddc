import ts from '../typescript.cjs';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, resolve } from 'node:path';

/** A source file to analyse: its path and its text. */
export interface SourceInput {
  path: string;
  text: string;
}

const SOURCE_EXTENSIONS = new Set(['.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs']);

/** True for file names the audit reads (TypeScript and JavaScript, not declaration files). */
export function isAuditableFile(path: string): boolean {
  return SOURCE_EXTENSIONS.has(extname(path)) && !path.endsWith('.d.ts') && !path.endsWith('.d.mts') && !path.endsWith('.d.cts');
}

function scriptKind(path: string): ts.ScriptKind {
  switch (extname(path)) {
    case '.tsx':
      return ts.ScriptKind.TSX;
    case '.js':
    case '.mjs':
    case '.cjs':
      return ts.ScriptKind.JS;
    case '.jsx':
      return ts.ScriptKind.JSX;
    default:
      return ts.ScriptKind.TS;
  }
}

const MAX_EXTRA_FILE_BYTES = 1_000_000;

/**
 * Builds a TypeScript program over the given files so the type checker can resolve names, follow
 * local variables, object properties and imports between files. Files that the given ones import
 * and that exist on disk outside node_modules are loaded too (for cross-file option objects), but
 * only the given files are reported on. No lib files, no node_modules: resolution is syntactic.
 * Parent pointers are set by the binder: call `getTypeChecker()` before walking up the trees.
 */
export function createAuditProgram(files: readonly SourceInput[], readExtraFromDisk = true): ts.Program {
  const texts = new Map<string, string>();
  for (const f of files) texts.set(resolve(f.path), f.text);
  const extra = (fileName: string): boolean =>
    readExtraFromDisk &&
    !fileName.includes('/node_modules/') &&
    SOURCE_EXTENSIONS.has(extname(fileName)) &&
    existsSync(fileName) &&
    statSync(fileName).isFile() &&
    statSync(fileName).size <= MAX_EXTRA_FILE_BYTES;
  const read = (fileName: string): string | undefined => {
    const known = texts.get(fileName);
    if (known !== undefined) return known;
    if (!extra(fileName)) return undefined;
    try {
      const text = readFileSync(fileName, 'utf8');
      texts.set(fileName, text);
      return text;
    } catch {
      return undefined;
    }
  };
  const options: ts.CompilerOptions = {
    allowJs: true,
    checkJs: false,
    noLib: true,
    noEmit: true,
    types: [],
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    allowImportingTsExtensions: true,
    experimentalDecorators: true,
    jsx: ts.JsxEmit.Preserve,
    skipLibCheck: true,
    noResolve: false,
  };
  let resolutionCache: ts.ModuleResolutionCache | undefined;
  const host: ts.CompilerHost = {
    getSourceFile: (fileName, languageVersion) => {
      const text = read(fileName);
      // no parent pointers from the parser: the binder sets every one when the checker is created (as for tsc)
      return text === undefined ? undefined : ts.createSourceFile(fileName, text, languageVersion, false, scriptKind(fileName));
    },
    getDefaultLibFileName: () => '/__keyward_no_lib__.d.ts',
    writeFile: () => undefined,
    getCurrentDirectory: () => process.cwd(),
    getCanonicalFileName: (f) => f,
    useCaseSensitiveFileNames: () => true,
    getNewLine: () => '\n',
    fileExists: (f) => texts.has(f) || extra(f),
    readFile: (f) => read(f),
    directoryExists: (d) => !d.includes('/node_modules') && existsSync(d),
    getDirectories: () => [],
    // A bare specifier ('@nestjs/common', 'express-session') could only resolve into node_modules
    // or through a package.json, and this host shows neither: it stays unresolved without the
    // lookups. Relative and absolute specifiers are resolved as the program would.
    resolveModuleNameLiterals: (literals, containingFile, redirected, opts, containingSourceFile) => {
      resolutionCache ??= ts.createModuleResolutionCache(host.getCurrentDirectory(), host.getCanonicalFileName, opts);
      return literals.map((literal) =>
        ts.isExternalModuleNameRelative(literal.text)
          ? ts.resolveModuleName(literal.text, containingFile, opts, host, resolutionCache, redirected, ts.getModeForUsageLocation(containingSourceFile, literal, opts))
          : { resolvedModule: undefined },
      );
    },
  };
  return ts.createProgram({ rootNames: [...texts.keys()], options, host });
}
