import { isIP } from 'node:net';

/** What proxies tell: the last value of a forwarded header, IPv4-mapped addresses, and the client's address. */

/** The last of a header's comma-separated values (what the proxy nearest to us added). */
export function lastValue(v: string | string[] | undefined): string | undefined {
  const s = Array.isArray(v) ? v.join(',') : v;
  if (!s) return undefined;
  const parts = s.split(',').map((p) => p.trim()).filter(Boolean);
  return parts[parts.length - 1];
}

/** `::ffff:127.0.0.1` -> `127.0.0.1`. */
export function stripMapped(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/** A request as the client address sees it (Express req, Fastify request's raw, Node's). */
export interface AddressedRequest {
  headers: Record<string, string | string[] | undefined>;
  socket?: { remoteAddress?: string } | null;
}

/**
 * The client's address by the same trust rule as the HTTPS decision (`transport.trustProxy`):
 * the TCP peer, unless it is a trusted proxy; then `X-Forwarded-For` read from the right,
 * skipping the trusted proxies' own entries: the first address a trusted proxy did not
 * vouch for is the client (what the last trusted hop saw). A client's own `X-Forwarded-For`
 * entries are to the left of it and never believed. Malformed entries end the walk (the
 * proxy next to them is the last address known); `undefined` when the socket has no address.
 */
export function clientAddress(req: AddressedRequest, trust: (address: string | undefined) => boolean): string | undefined {
  const peer = req.socket?.remoteAddress;
  if (peer === undefined) return undefined;
  let client = stripMapped(peer);
  if (!trust(peer)) return client;
  const raw = req.headers['x-forwarded-for'];
  const hops = (Array.isArray(raw) ? raw.join(',') : (raw ?? '')).split(',');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = stripMapped(hops[i]!.trim());
    if (isIP(hop) === 0) break;
    client = hop;
    if (!trust(hop)) break;
  }
  return client;
}
