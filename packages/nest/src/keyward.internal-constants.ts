/** Where the per-request session handle is kept on the adapter's request object. */
export const REQUEST_SESSION = Symbol('keyward.requestSession');
/** Injection token of the validated, resolved options. */
export const RESOLVED_OPTIONS = Symbol('keyward.resolvedOptions');
export const PROXY_PATH = Symbol('keyward.proxyPath');
export const REQUEST_ID = Symbol.for('keyward.requestId');
/** Marks a request that Keyward's HTTP edge already handled at the server, before the framework. */
export const SEEN_AT_EDGE = Symbol.for('keyward.seenAtEdge');
/** Marks an Express app or HTTP server that already has Keyward's edge (one edge per app). */
export const EDGE_INSTALLED = Symbol.for('keyward.edgeInstalled');
