import type { Rule } from './rule.js';
import { MIGRATION_GUIDE, docUrl } from './guides.js';

/** Probe only: `keyward probe` checks HSTS on HTTPS responses; there is nothing to audit in source. */
export const missingHsts: Rule = {
  meta: {
  id: 'KW006',
  name: 'missing-hsts',
  severity: 'medium',
  title: 'HTTPS response without Strict-Transport-Security',
  why:
    'Without HSTS, the first request a browser makes to the site can go over plain HTTP, where a ' +
    'network attacker can strip TLS and read or set cookies.',
  fix:
    'Send `Strict-Transport-Security: max-age=31536000; includeSubDomains` on every HTTPS response ' +
    '(helmet does). @keyward/nest sends it on every HTTPS answer by default (`transport.hsts`, one ' +
    'year) and refuses plain HTTP in production (`transport.requireHttps`).',
  // @keyward/nest's transport options; without Keyward, the helmet package does the same
  example: [
    "import { KeywardModule } from '@keyward/nest';",
    'KeywardModule.forRoot({',
    '  session: { secrets, store },',
    "  transport: { trustProxy: 'loopback', hsts: { maxAgeSeconds: 31_536_000, includeSubDomains: true } },",
    '});',
    '// without Keyward: app.use(helmet({ hsts: { maxAge: 31_536_000, includeSubDomains: true } }));',
  ].join('\n'),
  guide: docUrl('docs/deployment.md'),
  sources: ['probe'],
},
};
