// What a bench/scale.mjs run leaves behind: the machine facts of the run, and its Markdown
// (scale-report.mjs renders it), SVG chart and JSON in bench/results/ (scale-quick.* after a
// partial run; scale-latest.*, the dated copies and the README's "Scale results" section after
// a full one). Also the partial JSON saved after every section.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../harness/processes.mjs';

const benchDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const root = join(benchDir, '..');

/** The 1, 5 and 15 minute load averages, as text. */
export const loadAverage = () => os.loadavg().map((v) => v.toFixed(2)).join(' / ');

/** Saves what is known so far (servers left out) to bench/results/scale-partial.json. */
export function savePartial(results) {
  mkdirSync(join(benchDir, 'results'), { recursive: true });
  writeFileSync(join(benchDir, 'results', 'scale-partial.json'), JSON.stringify(results, (k, v) => (k === 'server' ? undefined : v), 1));
}

/** The version in the root node_modules, or 'n/a'. */
const ver = (name) => {
  try {
    return JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return 'n/a';
  }
};

/** The machine and software facts of a run that started at `started` (ms). */
export async function machineFacts({ started, loadStart, tool }) {
  return {
    date: new Date().toISOString().replace('T', ' ').slice(0, 19) + ' UTC',
    seconds: Math.round((Date.now() - started) / 1000),
    nproc: os.availableParallelism(),
    cpu: os.cpus()[0]?.model?.trim(),
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    loadStart,
    loadEnd: loadAverage(),
    node: process.version,
    redis: (await run('redis-server', ['--version'])).stdout.trim().replace(/ sha=.*$/, ''),
    tool: tool.version,
    versions: { nest: ver('@nestjs/core'), ioredis: ver('ioredis'), 'better-sqlite3': ver('better-sqlite3'), pino: ver('pino'), 'nestjs-pino': ver('nestjs-pino'), 'pino-http': ver('pino-http') },
    keyward: spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout.trim(),
  };
}

/** Writes the markdown, the SVG and the JSON (and, after a full run, the dated copies and the README section). */
export async function writeOutputs(results, partial) {
  const { renderScale, renderChart } = await import('../harness/scale-report.mjs');
  const outDir = join(benchDir, 'results');
  mkdirSync(outDir, { recursive: true });
  const base = partial ? 'scale-quick' : 'scale-latest';
  const svg = renderChart(results);
  writeFileSync(join(outDir, `${base}.svg`), svg);
  const md = renderScale(results, { svgName: `${base}.svg`, command: results.command });
  writeFileSync(join(outDir, `${base}.md`), md);
  writeFileSync(join(outDir, `${base}.json`), JSON.stringify(results, null, 1));
  if (base === 'scale-latest') {
    const day = new Date().toISOString().slice(0, 10);
    writeFileSync(join(outDir, `scale-${day}.md`), md.replaceAll('scale-latest.svg', `scale-${day}.svg`));
    writeFileSync(join(outDir, `scale-${day}.svg`), svg);
    const readme = join(benchDir, 'README.md');
    const text = readFileSync(readme, 'utf8');
    const start = '<!-- scale-results:start -->';
    const end = '<!-- scale-results:end -->';
    if (text.includes(start)) {
      const section = `${start}\nLatest scale run (${results.machine.date}, from [results/scale-latest.md](results/scale-latest.md)):\n\n![Scale curve and ratios](results/scale-latest.svg)\n\n${md.replace(/^# .*\n/, '').replace(/^(#{2,3}) /gm, '#$1 ').replaceAll('](scale-latest.svg)', '](results/scale-latest.svg)').replace(/!\[[^\]]*\]\(results\/scale-latest\.svg\)\n/, '')}\n${end}`;
      writeFileSync(readme, text.slice(0, text.indexOf(start)) + section + text.slice(text.indexOf(end) + end.length));
    }
  }
  return base;
}
