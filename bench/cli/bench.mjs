// keyward audit vs ESLint (eslint-plugin-sonarjs recommended, eslint-plugin-no-secrets):
//  1. lines per second on a large generated NestJS tree (bench/.work/cli-tree, regenerated each run);
//  2. precision / recall of each tool on keyward's labelled corpus, mapping the tools' rules to
//     keyward's rule ids where they look for the same thing.
// Run from the repository root after `npm run build`:
//   node --require ./bench/cli/ts5-redirect.cjs bench/cli/bench.mjs [--files 2000] [--runs 3]
// (sonarjs and typescript-eslint need TypeScript's JS API, which TypeScript 7 no longer ships;
//  ts5-redirect.cjs gives them TypeScript 5.9.)
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { writeTree } from './tree.mjs';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const cliRequire = createRequire(join(root, 'packages/cli/package.json'));
const { values } = parseArgs({ options: { files: { type: 'string', default: '2000' }, runs: { type: 'string', default: '3' } } });
const FILES = Number(values.files);
const RUNS = Number(values.runs);

const { auditPaths } = await import(pathToFileURL(join(root, 'packages/cli/dist/src/index.js')).href);
const keywardEslint = (await import(pathToFileURL(join(root, 'packages/cli/dist/src/eslint/eslint-plugin.js')).href)).default;
const { scoreCorpus, keywardDetect, formatScores } = await import(pathToFileURL(join(root, 'packages/cli/dist/test/corpus-eval.js')).href);
const { ESLint } = await import(pathToFileURL(cliRequire.resolve('eslint')).href);
const sonarjs = (await import(pathToFileURL(cliRequire.resolve('eslint-plugin-sonarjs')).href)).default;
const noSecrets = (await import(pathToFileURL(cliRequire.resolve('eslint-plugin-no-secrets')).href)).default;
const tsParser = cliRequire('@typescript-eslint/parser');

// ---------------------------------------------------------------- generated tree


const tree = join(root, 'bench/.work/cli-tree');
const { lines } = writeTree(tree, (files) => files >= FILES);

const sonarConfig = [{ files: ['**/*.ts', '**/*.js'], languageOptions: { parser: tsParser, sourceType: 'module' } }, { files: ['**/*.ts', '**/*.js'], ...sonarjs.configs.recommended }];
const noSecretsConfig = [
  { files: ['**/*.ts', '**/*.js'], languageOptions: { parser: tsParser, sourceType: 'module' } },
  { files: ['**/*.ts', '**/*.js'], plugins: { 'no-secrets': noSecrets }, rules: { 'no-secrets/no-secrets': 'error' } },
];
const keywardEslintConfig = [{ files: ['**/*.ts', '**/*.js'], languageOptions: { parser: tsParser, sourceType: 'module' } }, { files: ['**/*.ts', '**/*.js'], ...keywardEslint.configs.recommended }];

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function time(fn) {
  const ms = [];
  let out;
  for (let r = 0; r < RUNS; r++) {
    const t = performance.now();
    out = await fn();
    ms.push(performance.now() - t);
  }
  return { ms: median(ms), out };
}

const eslintRun = (config) => async () => {
  const eslint = new ESLint({ cwd: tree, overrideConfigFile: true, overrideConfig: config, cache: false });
  const results = await eslint.lintFiles(['**/*.ts']);
  return results.reduce((n, r) => n + r.messages.length, 0);
};

console.log(`tree: ${FILES} files, ${lines} lines; median of ${RUNS} runs; node ${process.version}, ${(await import('node:os')).cpus().length} cores`);
const rows = [];
const kw = await time(() => auditPaths({ paths: [tree], cwd: tree }).findings.length);
rows.push(['keyward audit', kw]);
rows.push(['ESLint + keyward plugin', await time(eslintRun(keywardEslintConfig))]);
rows.push(['ESLint + sonarjs recommended', await time(eslintRun(sonarConfig))]);
rows.push(['ESLint + no-secrets', await time(eslintRun(noSecretsConfig))]);
console.log('\n| tool | time (ms) | lines/s | per 100k lines (s) | findings |\n| --- | --- | --- | --- | --- |');
for (const [name, r] of rows) console.log(`| ${name} | ${Math.round(r.ms)} | ${Math.round(lines / (r.ms / 1000))} | ${((r.ms * 100) / lines).toFixed(1)} | ${r.out} |`);

// ---------------------------------------------------------------- corpus precision / recall

const SONAR_MAP = {
  'sonarjs/cookie-no-httponly': 'KW002',
  'sonarjs/insecure-cookie': 'KW002',
  'sonarjs/cors': 'KW005',
  'sonarjs/no-hardcoded-passwords': 'KW003',
  'sonarjs/no-hardcoded-secrets': 'KW003',
  'sonarjs/hardcoded-secret-signatures': 'KW003',
};
const NO_SECRETS_MAP = { 'no-secrets/no-secrets': 'KW003' };

async function eslintDetector(config, map) {
  const eslint = new ESLint({ cwd: root, overrideConfigFile: true, overrideConfig: config.map((c) => ({ ...c, files: ['**/*.ts', '**/*.js'] })) });
  const cache = new Map();
  return {
    async prepare(files) {
      for (const f of files) {
        const [r] = await eslint.lintFiles([f]);
        cache.set(f, r.messages.filter((m) => map[m.ruleId]).map((m) => ({ line: m.line, ruleId: map[m.ruleId] })));
      }
    },
    detect: (path) => cache.get(path) ?? [],
  };
}

const { corpusFiles, CORPUS_DIR } = await import(pathToFileURL(join(root, 'packages/cli/dist/test/corpus-eval.js')).href);
const files = corpusFiles().map((f) => join(CORPUS_DIR, f));
console.log('\nkeyward (corpus, line level)\n' + formatScores(scoreCorpus(keywardDetect)));
console.log('\nkeyward (corpus, file level)\n' + formatScores(scoreCorpus(keywardDetect, 'file')));
for (const [name, config, map] of [
  ['ESLint + sonarjs recommended (mapped rules)', sonarConfig, SONAR_MAP],
  ['ESLint + no-secrets', noSecretsConfig, NO_SECRETS_MAP],
]) {
  const d = await eslintDetector(config, map);
  await d.prepare(files);
  console.log(`\n${name}, line level\n${formatScores(scoreCorpus(d.detect))}`);
  console.log(`\n${name}, file level (a finding anywhere in a file labelled with the rule counts)\n${formatScores(scoreCorpus(d.detect, 'file'))}`);
}
console.log('\n(no equivalent rule in sonarjs or no-secrets: KW001, KW004; their scores above are recall 0 by construction)');
rmSync(tree, { recursive: true, force: true });
