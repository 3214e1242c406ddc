// The command line of bench/run.mjs: its options, --help, and the settings they give.
import { parseArgs } from 'node:util';

export const USAGE = `node bench/run.mjs [options]   Keyward against the advisory's own stack (bench/README.md)

  --quick                 smoke run (< 60 s), writes bench/results/quick.md only
  --rounds N              interleaved rounds per target (default 5, quick 1)
  --duration S            seconds per round (default 5, quick 1)
  --warmup S              seconds of warm-up per target (default 3, quick 1)
  --connections N         concurrent connections (default 50)
  --only id,id            run only these stacks
  --scenario session|proxy
  --tool wrk|autocannon   load generator (default wrk, installed from Debian when missing)
  --profile <stack id>    write a --cpu-prof profile of that stack to bench/.prof/
  --no-build              bench the existing dist/ as it is
  --sessions N            sessions for the memory measurement (default 200, quick 20)
  --compare <build>/dist/src/index.js   add Keyward rows running that build (A/B of a fix)
  -h, --help              this text`;

/**
 * Reads the command line. Prints the usage and exits on --help (0) and on a bad option or
 * value (2). Returns the raw options (`opt`) and the settings derived from them.
 */
export function parseRunOptions() {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        help: { type: 'boolean', short: 'h', default: false },
        quick: { type: 'boolean', default: false },
        rounds: { type: 'string' },
        duration: { type: 'string' },
        warmup: { type: 'string' },
        connections: { type: 'string', default: '50' },
        only: { type: 'string' },
        scenario: { type: 'string' },
        tool: { type: 'string' },
        profile: { type: 'string' },
        'no-build': { type: 'boolean', default: false },
        sessions: { type: 'string' },
        compare: { type: 'string' },
      },
    });
  } catch (err) {
    console.error(`${err.message}\n\n${USAGE}`);
    process.exit(2);
  }
  const opt = parsed.values;
  if (opt.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const quick = opt.quick;
  const cfg = {
    opt,
    quick,
    rounds: Number(opt.rounds ?? (quick ? 1 : 5)),
    seconds: Number(opt.duration ?? (quick ? 1 : 5)),
    warmup: Number(opt.warmup ?? (quick ? 1 : 3)),
    rewarm: quick ? 0 : 1, // seconds of load before each measured round (pools, JIT)
    connections: Number(opt.connections),
    sessions: Number(opt.sessions ?? (quick ? 20 : 200)),
    probeRequests: quick ? 10 : 50,
  };
  for (const [name, v] of [['rounds', cfg.rounds], ['duration', cfg.seconds], ['warmup', cfg.warmup], ['connections', cfg.connections], ['sessions', cfg.sessions]]) {
    if (!Number.isInteger(v) || v < (name === 'warmup' ? 0 : 1)) {
      console.error(`--${name}: expected a whole number${name === 'warmup' ? '' : ' >= 1'} (wrk takes whole seconds), got ${v}`);
      process.exit(2);
    }
  }
  return cfg;
}
