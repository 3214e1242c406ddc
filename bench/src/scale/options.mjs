// The command line of bench/scale.mjs: its options, --help, and the settings they give.
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';

export const ALL_SECTIONS = ['curve', 'heavy', 'secrets', 'sweep', 'logging', 'check'];

export const USAGE = `node bench/scale.mjs [options]   cost as the work grows (bench/README.md, "Scale")

  --quick                 smoke run (1k and 10k sessions, 1 s rounds, ~3 minutes); writes
                          bench/results/scale-quick.md and scale-quick.svg only
  --sections a,b          some sections only: ${ALL_SECTIONS.join(',')} (default: all)
  --rounds N              interleaved rounds per row (default 3, quick 1)
  --duration S            seconds per round (default 5, quick 1)
  --warmup S              seconds of warm-up per row (default 2, quick 1)
  --connections N         concurrent connections (default 50)
  --sizes 1000,100000,1000000   live sessions of the scale curve (quick 1000,10000)
  --hot N                 distinct sessions the load cycles through (default 1000, quick 200)
  --expired N             expired sessions the sweep ends (default 100000, quick 5000)
  --expired-sqlite N      the same for SQLite (default: --expired)
  --minted N              live minted keys (default 20000, quick 500)
  --stores redis,sqlite   stores of the curve, heavy and sweep sections (default both)
  --compare DIST          curve, SQLite: also load a server running another build (e.g.
                          bench/.ab/base/src/index.js) on a copy of the same file, interleaved
  --no-build              bench the existing dist/ as it is
  --render FILE           re-render the tables, chart and README section from a run's JSON
                          (e.g. bench/results/scale-latest.json), no measuring
  -h, --help              this text`;

/**
 * Reads the command line; prints the usage and exits on --help. Throws on an unknown
 * section, store or --compare file. Returns the raw options (`opt`) and the settings.
 */
export function parseScaleOptions() {
  const { values: opt } = parseArgs({
    options: {
      help: { type: 'boolean', short: 'h', default: false },
      quick: { type: 'boolean', default: false },
      sections: { type: 'string' },
      rounds: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string', default: '50' },
      sizes: { type: 'string' },
      hot: { type: 'string' },
      expired: { type: 'string' },
      minted: { type: 'string' },
      'expired-sqlite': { type: 'string' },
      'no-build': { type: 'boolean', default: false },
      stores: { type: 'string' },
      compare: { type: 'string' },
      render: { type: 'string' },
    },
  });
  if (opt.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const quick = opt.quick;
  const expired = Number(opt.expired ?? (quick ? 5000 : 100_000));
  const cfg = {
    opt,
    quick,
    rounds: Number(opt.rounds ?? (quick ? 1 : 3)),
    seconds: Number(opt.duration ?? (quick ? 1 : 5)),
    warmup: Number(opt.warmup ?? (quick ? 1 : 2)),
    rewarm: quick ? 0 : 1,
    connections: Number(opt.connections),
    sizes: (opt.sizes ?? (quick ? '1000,10000' : '1000,100000,1000000')).split(',').map(Number),
    hot: Number(opt.hot ?? (quick ? 200 : 1000)),
    expired,
    minted: Number(opt.minted ?? (quick ? 500 : 20_000)),
    heavy: quick ? 200 : 1000,
    // SQLite ends expired sessions synchronously, 25 per transaction, the event loop turning
    // every ~10 ms. Before the sliced sweep it held the loop for all of it, and each batch
    // waited for an fsync (~2 ms per session: 10k stalled 4-23 s in one piece); expired records
    // are now deleted without that wait, so it sweeps as many as Redis does.
    expiredSqlite: Math.min(expired, Number(opt['expired-sqlite'] ?? expired)),
    sections: new Set(opt.sections ? opt.sections.split(',') : ALL_SECTIONS),
    stores: new Set((opt.stores ?? 'redis,sqlite').split(',')),
  };
  for (const s of cfg.sections) if (!ALL_SECTIONS.includes(s)) throw new Error(`--sections: unknown "${s}"; known: ${ALL_SECTIONS.join(',')}`);
  for (const s of cfg.stores) if (!['redis', 'sqlite'].includes(s)) throw new Error(`--stores: unknown "${s}"; known: redis,sqlite`);
  if (opt.compare && !existsSync(opt.compare)) throw new Error(`--compare: no such file ${opt.compare} (the index.js of a copied dist, e.g. bench/.ab/base/src/index.js)`);
  return cfg;
}
