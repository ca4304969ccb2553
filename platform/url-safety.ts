import { BlockList, isIP } from 'node:net';
import type { LookupAddress, lookup as dnsLookup } from 'node:dns';

/**
 * E5 safety: where the API may send webhooks. A webhook URL is chosen by a caller, so without
 * these rules it could make the worker POST to the cloud metadata service, the database, or any
 * host of the private network (SSRF).
 *
 * - https always; http only to a loopback host, and only when `allowHttpLoopback` (local
 *   development: every environment but NODE_ENV=production);
 * - no user:password in the URL, no fragment;
 * - no private, loopback, link-local, CGNAT, multicast or reserved target unless
 *   `allowPrivateTargets` (loopback is also allowed with `allowHttpLoopback`). The literal address
 *   is checked at registration; a host name's resolved addresses at every delivery (see
 *   `checkResolvedAddress`), so DNS cannot be pointed inward later.
 */
export interface WebhookUrlPolicy {
  readonly allowHttpLoopback: boolean;
  readonly allowPrivateTargets: boolean;
}

export const MAX_WEBHOOK_URL_LENGTH = 2048;

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

const NON_PUBLIC = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24],
  ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) NON_PUBLIC.addSubnet(net, prefix, 'ipv4');
// IPv4-mapped addresses (::ffff:a.b.c.d) are judged as their IPv4 address (unmapped below).
for (const [net, prefix] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['2001:db8::', 32], ['64:ff9b::', 96]] as const) {
  NON_PUBLIC.addSubnet(net, prefix, 'ipv6');
}

export type UrlRefusal = { readonly ok: false; readonly reason: string };
export type UrlCheck = { readonly ok: true; readonly url: URL } | UrlRefusal;

/** The address family node:net speaks, for a literal address; undefined for a host name. */
function family(address: string): 'ipv4' | 'ipv6' | undefined {
  const kind = isIP(address);
  return kind === 4 ? 'ipv4' : kind === 6 ? 'ipv6' : undefined;
}

/** An IPv4-mapped IPv6 address (::ffff:10.0.0.1) is judged as its IPv4 address. */
function unmapped(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped?.[1] ?? address;
}

export function isLoopbackAddress(address: string): boolean {
  const a = unmapped(address);
  const f = family(a);
  return f !== undefined && LOOPBACK.check(a, f);
}

export function isPublicAddress(address: string): boolean {
  const a = unmapped(address);
  const f = family(a);
  return f !== undefined && !NON_PUBLIC.check(a, f);
}

/** May the worker connect to `address` (a literal IP, e.g. from DNS)? */
export function checkResolvedAddress(address: string, policy: WebhookUrlPolicy): UrlRefusal | undefined {
  if (isPublicAddress(address) || policy.allowPrivateTargets) return undefined;
  if (isLoopbackAddress(address) && policy.allowHttpLoopback) return undefined;
  return { ok: false, reason: `the address ${address} is not a public one (private targets are not allowed here)` };
}

/** A webhook URL as registration accepts it (SPEC §8: a refusal is a 400 with this reason). */
export function checkWebhookUrl(raw: string, policy: WebhookUrlPolicy): UrlCheck {
  if (raw.length > MAX_WEBHOOK_URL_LENGTH) return { ok: false, reason: `a URL is at most ${MAX_WEBHOOK_URL_LENGTH} characters` };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: 'not an absolute URL' };
  }
  // The stored form (punycode, percent-encoding) is what must fit, and what must be storable text.
  if (url.href.length > MAX_WEBHOOK_URL_LENGTH) return { ok: false, reason: `a URL is at most ${MAX_WEBHOOK_URL_LENGTH} characters` };
  if (url.username || url.password) return { ok: false, reason: 'a URL with credentials is not allowed (the signature authenticates the sender)' };
  if (url.hash) return { ok: false, reason: 'a URL with a fragment is not allowed' };
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  const loopback = host === 'localhost' || host.endsWith('.localhost') || isLoopbackAddress(host);
  if (url.protocol === 'http:') {
    if (!loopback) return { ok: false, reason: 'http is only allowed to a loopback host (local development); use https' };
    if (!policy.allowHttpLoopback) return { ok: false, reason: 'http is not allowed in production; use https' };
    return { ok: true, url };
  }
  if (url.protocol !== 'https:') return { ok: false, reason: 'the URL must be https' };
  if (loopback) return policy.allowHttpLoopback || policy.allowPrivateTargets ? { ok: true, url } : { ok: false, reason: 'a loopback target is not allowed in production' };
  if (family(host) !== undefined) {
    const refusal = checkResolvedAddress(host, policy);
    if (refusal) return refusal;
  }
  return { ok: true, url };
}

/**
 * A `lookup` for node:http(s) that refuses a host name resolving to an address the policy does not
 * allow (DNS rebinding): the connection is never opened.
 */
export function guardedLookup(policy: WebhookUrlPolicy, lookup: typeof dnsLookup) {
  return (hostname: string, options: object, callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void): void => {
    lookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, []);
      const list = addresses as LookupAddress[];
      for (const { address } of list) {
        const refusal = checkResolvedAddress(address, policy);
        if (refusal) return callback(Object.assign(new Error(refusal.reason), { code: 'EWEBHOOKTARGET' }), []);
      }
      const wantsAll = (options as { all?: boolean }).all === true;
      if (wantsAll) return callback(null, list);
      const first = list[0];
      if (!first) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), []);
      return callback(null, first.address, first.family);
    });
  };
}
