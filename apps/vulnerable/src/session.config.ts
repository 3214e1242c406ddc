// DELIBERATELY VULNERABLE: every option here is what the advisory
// "API key exposure in NestJS with session cookies" warns against.
import type CookieSessionInterfaces from 'cookie-session';

type CookieSessionOptions = Parameters<typeof CookieSessionInterfaces>[0];

/** cookie-session options: the whole session (API key included) is stored in the cookie. */
export const sessionOptions: CookieSessionOptions = {
  // default cookie name, fingerprints the framework
  name: 'session',
  // literal fallback: without SESSION_SECRET, anyone can forge this cookie
  keys: [process.env.SESSION_SECRET || 'change-this-to-a-secure-random-value'],
  // readable from JavaScript, sent over plain HTTP, sent cross-site
  httpOnly: false,
  secure: false,
  sameSite: 'none',
  // 30 days
  maxAge: 30 * 24 * 60 * 60 * 1000,
};
