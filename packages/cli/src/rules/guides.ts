/** Where Keyward's docs are published: the repository's `docs/` folder on GitHub. */
export const DOCS_BASE = 'https://github.com/keyward/keyward/blob/main/';

/**
 * The URL of a page of the repository (`docs/….md`, a package README), with an anchor.
 *
 * @example
 * docUrl('docs/migrating-from-express-session.md', 'clean-up-the-old-sessions');
 */
export function docUrl(path: string, anchor?: string): string {
  return `${DOCS_BASE}${path}${anchor ? `#${anchor}` : ''}`;
}

/** The migration guide from express-session + connect-redis to `@keyward/nest`. */
export const MIGRATION_GUIDE = docUrl('docs/migrating-from-express-session.md');
