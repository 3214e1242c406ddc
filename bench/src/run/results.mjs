// The report of a bench/run.mjs run: the page (report.mjs renders it) written to
// bench/results/ (quick.md for a quick or partial run; <date>.md, latest.md and the README's
// results section after a full one), the targets table on the console, and where the
// --profile CPU profile went.
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stampedeTable } from '../harness/oauth.mjs';
import { evaluateTargets, renderResults, targetsTable } from '../harness/report.mjs';
import { profDir } from './stack-servers.mjs';

const benchDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const NOTES = [
  'Cookies: the advisory stack uses its exact options (custom name `adv_sid`, httpOnly, sameSite strict, maxAge 30 min, path `/`, resave false, saveUninitialized false, rolling false, secret from the environment) except `secure: false`, because the bench runs on plain-HTTP loopback; Keyward runs in development mode (`secure` off, no HTTPS requirement) for the same reason. Neither changes the per-request work.',
  'Every request carries the same headers: the session cookie, `x-csrf: 1`, `sec-fetch-site: same-origin`, `accept: application/json`. The advisory stack checks them on state-changing requests and on its proxy route, as the advisory asks.',
  'Stack 2 answers the session check with the same code as stack 1 (no outgoing call), so the session check runs it once, as "1 (= 2)".',
  'Keyward rows 3 and 4 attach the app\'s own key (`ServerKeyProvider`, held in memory); row 3v seals a key per session in the vault (`MintedKeyProvider` whose issuer hands out the upstream\'s key), the closest match to the advisory\'s per-session `sess:<id>:apiKey`: it decrypts the key from the session record on every call, with no extra round trip.',
  'All wrk connections share one session (one cookie), as a single busy user would; Keyward extends the idle expiry at most once a minute, the advisory on every request (EXPIRE).',
];

/** Replaces the README's results section with `page` (a full run only). Returns true when it did. */
function updateReadme(page, date) {
  const readme = join(benchDir, 'README.md');
  if (!existsSync(readme)) return false;
  const text = readFileSync(readme, 'utf8');
  const start = '<!-- latest-results:start -->';
  const end = '<!-- latest-results:end -->';
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (!(a >= 0 && b > a)) return false;
  const body = page.replace(/^# .*\n\n/, `Latest full run (${date}, copied from [results/latest.md](results/latest.md)):\n\n`).replace(/^## /gm, '### ');
  writeFileSync(readme, `${text.slice(0, a + start.length)}\n${body}\n${text.slice(b)}`);
  return true;
}

/**
 * Writes the report of a run and prints its targets table. `partial`: --only, --scenario or
 * --compare was given (the page then goes to quick.md, as a quick run's does).
 */
export function writeResults({ cfg, tool, machine, results, stacks, scenarios, started, partial, log }) {
  const date = new Date(started).toISOString().slice(0, 10);
  const res = {
    ...results,
    date,
    quick: cfg.quick,
    startedAt: new Date(started).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC'),
    elapsedMs: Date.now() - started,
    command: `node bench/run.mjs${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(' ')}` : ''}`,
    settings: `${tool.name} -t1 -c${cfg.connections}; ${cfg.warmup} s warm-up per target, then ${cfg.rounds} interleaved round(s) x ${cfg.seconds} s${cfg.rewarm ? ` each after ${cfg.rewarm} s of re-warm` : ''}; medians over rounds`,
    machine,
    notes: NOTES,
  };
  res.targets = evaluateTargets(res);
  const stampedeSection = results.stampede ? `\n## OAuth refresh stampede (issue 24)\n\n${stampedeTable(results.stampede)}\n` : '';
  const page = renderResults(res, stacks, scenarios) + stampedeSection;
  const resultsDir = join(benchDir, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const written = [];
  if (cfg.quick || partial) {
    writeFileSync(join(resultsDir, 'quick.md'), page);
    written.push('bench/results/quick.md');
  } else {
    writeFileSync(join(resultsDir, `${date}.md`), page);
    writeFileSync(join(resultsDir, 'latest.md'), page);
    written.push(`bench/results/${date}.md`, 'bench/results/latest.md');
    if (updateReadme(page, date)) written.push('bench/README.md (results section)');
  }
  console.log('');
  console.log(targetsTable(res.targets));
  console.log('');
  log(`done; wrote ${written.join(', ')}; load average at end ${machine.loadEnd}`);
  if (cfg.opt.profile) {
    const profiles = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(profDir, f));
    const newest = profiles.sort((x, y) => statSync(y).mtimeMs - statSync(x).mtimeMs)[0];
    if (newest) log(`CPU profile of ${cfg.opt.profile}: ${relative(process.cwd(), newest)} (summary: node bench/src/harness/profile-summary.mjs ${relative(process.cwd(), newest)})`);
  }
}
