import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, parse, resolve } from 'node:path';

/**
 * Whether the app keeps session data in the cookie (client-side) or on the server. A secret
 * written into the session is only the advisory's finding when the session is client-side.
 */
export interface SessionKind {
  client: boolean;
  server: boolean;
}

/** Session libraries that put the whole session into the cookie. */
export const CLIENT_SESSION_MODULES: readonly string[] = [
  'cookie-session',
  '@fastify/secure-session',
  'fastify-secure-session',
  'client-sessions',
  'iron-session',
  'next-iron-session',
];

/** Session libraries that keep session data server-side and put only an id in the cookie. */
export const SERVER_SESSION_MODULES: readonly string[] = ['express-session', '@fastify/session', 'fastify-session', '@mgcrea/fastify-session', 'koa-session'];

/** Merges what the code imports with what a package.json declares. */
export function mergeSessionKind(a: SessionKind, b: SessionKind): SessionKind {
  return { client: a.client || b.client, server: a.server || b.server };
}

/** Session kind from a list of imported module names. */
export function sessionKindOfModules(modules: Iterable<string>): SessionKind {
  const kind: SessionKind = { client: false, server: false };
  for (const m of modules) {
    if (CLIENT_SESSION_MODULES.includes(m)) kind.client = true;
    if (SERVER_SESSION_MODULES.includes(m)) kind.server = true;
  }
  return kind;
}

const cache = new Map<string, SessionKind | null>();

/**
 * Session kind declared by the nearest package.json above `file` (its dependencies), or
 * undefined when there is none or it names no session library. Cached per directory.
 */
export function sessionKindFromPackageJson(file: string): SessionKind | undefined {
  let dir = dirname(resolve(file));
  const root = parse(dir).root;
  const visited: string[] = [];
  for (;;) {
    const cached = cache.get(dir);
    if (cached !== undefined) {
      for (const v of visited) cache.set(v, cached);
      return cached ?? undefined;
    }
    visited.push(dir);
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      let kind: SessionKind | null = null;
      try {
        const json = JSON.parse(readFileSync(pkg, 'utf8')) as Record<string, unknown>;
        const deps = { ...(json['dependencies'] as object | undefined), ...(json['devDependencies'] as object | undefined) };
        const k = sessionKindOfModules(Object.keys(deps));
        kind = k.client || k.server ? k : null;
      } catch {
        kind = null;
      }
      for (const v of visited) cache.set(v, kind);
      return kind ?? undefined;
    }
    if (dir === root) break;
    dir = dirname(dir);
  }
  for (const v of visited) cache.set(v, null);
  return undefined;
}

const packageDirs = new Map<string, string | null>();

/**
 * The folder of the nearest package.json above `file`: the app the file belongs to (a folder holding
 * two apps gives each its own). Undefined when there is none. Cached per directory.
 */
export function packageDirOf(file: string): string | undefined {
  let dir = dirname(resolve(file));
  const root = parse(dir).root;
  const visited: string[] = [];
  let found: string | null = null;
  for (;;) {
    const cached = packageDirs.get(dir);
    if (cached !== undefined) {
      found = cached;
      break;
    }
    visited.push(dir);
    if (existsSync(join(dir, 'package.json'))) {
      found = dir;
      break;
    }
    if (dir === root) break;
    dir = dirname(dir);
  }
  for (const v of visited) packageDirs.set(v, found);
  return found ?? undefined;
}

/** The dependency names a package.json declares (dependencies and devDependencies); empty when unreadable. */
export function packageDependencies(dir: string): string[] {
  try {
    const json = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
    return Object.keys({ ...(json['dependencies'] as object | undefined), ...(json['devDependencies'] as object | undefined) });
  } catch {
    return [];
  }
}
