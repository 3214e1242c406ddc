// Speed of `keyward audit` against ESLint on the same tree: sonarjs recommended, or only the focused rules (sonarjs, no-secrets, security-node).
//
//   node bench/cli/audit-speed.mjs generate <dir> [--lines 120000]   write a NestJS-like tree
//   node bench/cli/audit-speed.mjs keyward <dir>                      one keyward audit run (in this process)
//   node --require ./bench/cli/ts5-redirect.cjs bench/cli/audit-speed.mjs sonarjs <dir>   one ESLint + sonarjs run
//   node --require ./bench/cli/ts5-redirect.cjs bench/cli/audit-speed.mjs focused <dir>   one ESLint run of the focused rules
//   node --require ./bench/cli/ts5-redirect.cjs bench/cli/audit-speed.mjs compare <dir> [--runs 3]
//
// Run from the repository root after a build. Each run prints files, lines, findings, milliseconds and
// milliseconds per 100 000 lines; `compare` runs both tools in turn and prints the medians and the
// ratio. Time whole processes with /usr/bin/time (or any external timer) around `keyward` and
// `sonarjs` for figures that include start-up.
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { writeTree } from './tree.mjs';

const pkg = resolve(fileURLToPath(new URL('../../packages/cli', import.meta.url)));
const req = createRequire(join(pkg, 'package.json'));
const { positionals, values } = parseArgs({ allowPositionals: true, options: { lines: { type: 'string', default: '120000' }, runs: { type: 'string', default: '3' } } });
const [command, dirArg] = positionals;
if (!command || !dirArg) {
  console.error('usage: audit-speed.mjs generate|keyward|sonarjs|focused|compare <dir> [--lines N] [--runs N]');
  process.exit(2);
}
const dir = resolve(dirArg);


function countTree(root) {
  let files = 0;
  let lines = 0;
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) {
        files++;
        lines += readFileSync(p, 'utf8').split('\n').length;
      }
    }
  };
  walk(root);
  return { files, lines };
}

async function keyward() {
  const { auditPaths } = await import(pathToFileURL(join(pkg, 'dist/src/index.js')).href);
  const t = performance.now();
  const r = auditPaths({ paths: [dir], cwd: dir });
  return { ms: performance.now() - t, findings: r.findings.length, files: r.filesScanned, lines: r.linesScanned };
}

async function sonarjs() {
  const { ESLint } = await import(pathToFileURL(req.resolve('eslint')).href);
  const plugin = (await import(pathToFileURL(req.resolve('eslint-plugin-sonarjs')).href)).default;
  const parser = req('@typescript-eslint/parser');
  const config = [
    { files: ['**/*.ts'], languageOptions: { parser, sourceType: 'module' } },
    { files: ['**/*.ts'], ...plugin.configs.recommended },
  ];
  const t = performance.now();
  const eslint = new ESLint({ cwd: dir, overrideConfigFile: true, overrideConfig: config, cache: false });
  const results = await eslint.lintFiles(['**/*.ts']);
  const { files, lines } = countTree(dir);
  return { ms: performance.now() - t, findings: results.reduce((n, r) => n + r.messages.length, 0), files, lines };
}

/**
 * The focused anchor: ESLint running only the rules of sonarjs, no-secrets and security-node that look
 * for what keyward looks for (cookie flags, session options, hard-coded secrets, CORS), with
 * typescript-eslint's parser as for sonarjs.
 */
export const FOCUSED_RULES = {
  'sonarjs/insecure-cookie': 'error',
  'sonarjs/cookie-no-httponly': 'error',
  'sonarjs/no-hardcoded-secrets': 'error',
  'sonarjs/no-hardcoded-passwords': 'error',
  'sonarjs/cors': 'error',
  'sonarjs/hardcoded-secret-signatures': 'error',
  'no-secrets/no-secrets': 'error',
  'security-node/detect-security-missconfiguration-cookie': 'error',
  'security-node/detect-absence-of-name-option-in-exrpress-session': 'error',
};

async function focused() {
  const { ESLint } = await import(pathToFileURL(req.resolve('eslint')).href);
  const sonar = (await import(pathToFileURL(req.resolve('eslint-plugin-sonarjs')).href)).default;
  const noSecrets = (await import(pathToFileURL(req.resolve('eslint-plugin-no-secrets')).href)).default;
  const securityNode = req('eslint-plugin-security-node');
  const parser = req('@typescript-eslint/parser');
  const config = [
    { files: ['**/*.ts'], languageOptions: { parser, sourceType: 'module' }, plugins: { sonarjs: sonar, 'no-secrets': noSecrets, 'security-node': securityNode }, rules: FOCUSED_RULES },
  ];
  const t = performance.now();
  const eslint = new ESLint({ cwd: dir, overrideConfigFile: true, overrideConfig: config, cache: false });
  const results = await eslint.lintFiles(['**/*.ts']);
  const fatal = results.flatMap((r) => r.messages.filter((m) => m.fatal || m.ruleId === null));
  if (fatal.length > 0) throw new Error(`ESLint could not run the focused rules: ${fatal[0].message}`);
  const { files, lines } = countTree(dir);
  return { ms: performance.now() - t, findings: results.reduce((n, r) => n + r.messages.length, 0), files, lines };
}

const per100k = (r) => Math.round((r.ms * 100_000) / r.lines);
const show = (name, r) => console.log(`${name}: ${r.files} files, ${r.lines} lines, ${r.findings} findings, ${Math.round(r.ms)} ms, ${per100k(r)} ms per 100k lines`);

if (command === 'generate') {
  const target = Number(values.lines);
  const { lines } = writeTree(dir, (_files, written) => written >= target);
  console.log(`wrote ${dir} (${lines} lines)`);
} else if (command === 'keyward') show('keyward audit', await keyward());
else if (command === 'sonarjs') show('ESLint + sonarjs recommended', await sonarjs());
else if (command === 'focused') show('ESLint + focused rules (sonarjs, no-secrets, security-node)', await focused());
else if (command === 'compare') {
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const kw = [];
  const so = [];
  for (let i = 0; i < Number(values.runs); i++) {
    kw.push(await keyward());
    so.push(await sonarjs());
  }
  const k = { ...kw[0], ms: median(kw.map((r) => r.ms)) };
  const s = { ...so[0], ms: median(so.map((r) => r.ms)) };
  show('keyward audit (median)', k);
  show('ESLint + sonarjs (median)', s);
  console.log(`ESLint + sonarjs / keyward audit: ${(s.ms / k.ms).toFixed(2)}x`);
} else {
  console.error(`unknown command ${command}`);
  process.exit(2);
}
