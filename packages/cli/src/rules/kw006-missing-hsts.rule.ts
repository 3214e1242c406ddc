import type { Rule } from './rule.js';

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
  fix: 'Send `Strict-Transport-Security: max-age=31536000; includeSubDomains` on every HTTPS response (helmet does).',
  // The helmet package (npm install helmet), registered before the routes:
  example: 'app.use(helmet({ hsts: { maxAge: 31_536_000, includeSubDomains: true } }));',
  sources: ['probe'],
},
};
