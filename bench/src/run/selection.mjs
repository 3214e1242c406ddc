// Which stacks and scenarios one bench/run.mjs run measures (--only, --scenario, --profile,
// --compare), checked against the stacks the harness knows (stacks.mjs).
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Prints `message` and exits with 2 (a wrong option). */
function refuse(message) {
  console.error(message);
  process.exit(2);
}

/**
 * Returns `stacks` (with --compare twins), the `scenarios` each with the ids it runs, the
 * `neededStacks` (the servers to start), `onlyIds` and `compareDist`.
 */
export function selectStacks(opt, baseStacks, baseScenarios) {
  // --compare: each Keyward stack gets a twin running the other build, right after it.
  const compareDist = opt.compare ? join(process.cwd(), opt.compare) : null;
  if (compareDist && !existsSync(compareDist)) refuse(`--compare: ${compareDist} does not exist (give the other build's dist/src/index.js)`);
  const twin = (st) => ({ ...st, id: `${st.id}-alt`, n: `${st.n}'`, label: `${st.label}, **other build** (--compare)`, env: { ...st.env, KEYWARD_DIST: compareDist } });
  const stacks = compareDist ? baseStacks.flatMap((st) => (st.session === 'keyward' ? [st, twin(st)] : [st])) : baseStacks;
  const withTwins = (ids) => (compareDist ? ids.flatMap((id) => (id.startsWith('kw-') ? [id, `${id}-alt`] : [id])) : ids);

  const onlyIds = opt.only ? new Set(opt.only.split(',').map((s) => s.trim())) : null;
  for (const id of onlyIds ?? []) {
    if (!stacks.some((s) => s.id === id)) refuse(`--only: unknown stack "${id}"; known: ${stacks.map((s) => s.id).join(', ')}`);
  }
  if (opt.profile && !stacks.some((s) => s.id === opt.profile)) refuse(`--profile: unknown stack "${opt.profile}"; known: ${stacks.map((s) => s.id).join(', ')}`);
  // Optional stacks (extra rows that take a result apart) run only when --only names them.
  const selected = (id) => (onlyIds ? onlyIds.has(id) : !stacks.find((s) => s.id === id)?.optional);
  const scenarios = baseScenarios.filter((sc) => !opt.scenario || sc.id === opt.scenario).map((sc) => ({
    ...sc,
    stacks: withTwins(sc.stacks.filter(selected)),
  }));
  const neededStacks = stacks.filter((s) => scenarios.some((sc) => sc.stacks.includes(s.id)));
  return { stacks, scenarios, neededStacks, onlyIds, compareDist };
}
