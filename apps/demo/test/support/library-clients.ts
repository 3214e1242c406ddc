/**
 * The library's own test clients (packages/nest/test/support, built before this app):
 * a cookie-keeping page client and a node:http request with an exact path.
 */
import type * as Clients from '../../../../packages/nest/dist/test/support/clients.js';
import type * as RawHttp from '../../../../packages/nest/dist/test/support/raw-http.js';

// As seen from the compiled file (apps/demo/dist/test/support/).
const SUPPORT = new URL('../../../../../packages/nest/dist/test/support/', import.meta.url);

export const { PageClient } = (await import(new URL('clients.js', SUPPORT).href)) as typeof Clients;
export const { nodeRequest } = (await import(new URL('raw-http.js', SUPPORT).href)) as typeof RawHttp;
export type RawReply = RawHttp.RawReply;
