/**
 * Where webhooks may be sent (webhooks.md §1, `url` row). Checked twice: at creation for IP-literal hosts and
 * localhost, and at every delivery against the addresses the host resolves to — the connection is made to an address
 * that passed the check, so a DNS answer that changes between the two (rebinding) cannot reach a refused address.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/** Link-local, cloud metadata, multicast and reserved ranges: refused whatever the operator allows. */
const ALWAYS_REFUSED = new BlockList();
ALWAYS_REFUSED.addSubnet('169.254.0.0', 16, 'ipv4'); // link-local, incl. 169.254.169.254 (AWS, GCP, Azure metadata)
ALWAYS_REFUSED.addAddress('100.100.100.200', 'ipv4'); // Alibaba Cloud metadata
ALWAYS_REFUSED.addSubnet('224.0.0.0', 4, 'ipv4'); // multicast
ALWAYS_REFUSED.addSubnet('240.0.0.0', 4, 'ipv4'); // reserved, broadcast
ALWAYS_REFUSED.addSubnet('fe80::', 10, 'ipv6'); // link-local
ALWAYS_REFUSED.addAddress('fd00:ec2::254', 'ipv6'); // AWS metadata over IPv6
ALWAYS_REFUSED.addSubnet('ff00::', 8, 'ipv6'); // multicast

/** Private, loopback and "this host" ranges: allowed only with SYNCLINE_WEBHOOKS_ALLOW_PRIVATE=true. */
const PRIVATE = new BlockList();
PRIVATE.addSubnet('10.0.0.0', 8, 'ipv4');
PRIVATE.addSubnet('172.16.0.0', 12, 'ipv4');
PRIVATE.addSubnet('192.168.0.0', 16, 'ipv4');
PRIVATE.addSubnet('100.64.0.0', 10, 'ipv4'); // carrier-grade NAT
PRIVATE.addSubnet('127.0.0.0', 8, 'ipv4');
PRIVATE.addSubnet('0.0.0.0', 8, 'ipv4'); // "this network": 0.0.0.0 reaches the local host
PRIVATE.addSubnet('fc00::', 7, 'ipv6'); // unique local
PRIVATE.addAddress('::1', 'ipv6');
PRIVATE.addAddress('::', 'ipv6');

/** Host names of metadata services, refused before any lookup. */
const METADATA_HOSTS = new Set(['metadata.google.internal', 'metadata.goog', 'metadata', 'instance-data', 'instance-data.ec2.internal']);

export const ADDRESS_REFUSED = 'address refused';

/** The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d) or NAT64 (64:ff9b::a.b.c.d) IPv6 address. */
function embeddedIpv4(ip: string): string | undefined {
  const m = /^(?:::ffff:|64:ff9b::)(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/i.exec(ip);
  if (!m) return undefined;
  if (m[1]) return m[1];
  const hi = parseInt(m[2]!, 16);
  const lo = parseInt(m[3]!, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** Why an IP address is refused, or undefined when it may be used. */
export function refusedAddress(ip: string, allowPrivate: boolean): string | undefined {
  const family = isIP(ip);
  if (family === 0) return `${ip} is not an IP address`;
  const v4 = family === 6 ? embeddedIpv4(ip) : undefined;
  const [addr, type] = v4 ? [v4, 'ipv4' as const] : [ip, family === 4 ? ('ipv4' as const) : ('ipv6' as const)];
  if (ALWAYS_REFUSED.check(addr, type)) return `${ip} is a link-local, metadata or reserved address`;
  if (!allowPrivate && PRIVATE.check(addr, type)) return `${ip} is a private or loopback address (set SYNCLINE_WEBHOOKS_ALLOW_PRIVATE=true to allow it)`;
  return undefined;
}

const normaliseHost = (hostname: string) => hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
const isLocalhostName = (host: string) => host === 'localhost' || host.endsWith('.localhost');

/** Why a host (name or IP literal) is refused before any lookup, or undefined when it may be tried. */
export function refusedHost(hostname: string, allowPrivate: boolean): string | undefined {
  const host = normaliseHost(hostname);
  if (host === '') return 'the URL has no host';
  if (isIP(host)) return refusedAddress(host, allowPrivate);
  if (METADATA_HOSTS.has(host)) return `${host} is a cloud metadata endpoint`;
  if (isLocalhostName(host) && !allowPrivate) return `${host} is a loopback address (set SYNCLINE_WEBHOOKS_ALLOW_PRIVATE=true to allow it)`;
  return undefined;
}

/**
 * The rule applied when a consumer is created: an absolute http(s) URL whose host, if it is an IP literal, a
 * metadata name or localhost, is allowed. Other names are checked against their addresses at delivery.
 * Returns the reason for refusal, or undefined.
 */
export function refusedUrl(raw: string, allowPrivate: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an absolute http:// or https:// URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `must be an http:// or https:// URL, not ${url.protocol.replace(/:$/, '')}`;
  return refusedHost(url.hostname, allowPrivate);
}

/** Every address of a host name (the system resolver, as http.request would use). */
export function resolveAll(hostname: string, family: number | string | undefined, callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void): void {
  dnsLookup(hostname, { all: true, family: family === 'IPv4' ? 4 : family === 'IPv6' ? 6 : Number(family ?? 0) as 0 | 4 | 6 }, callback);
}

export class AddressRefusedError extends Error {
  readonly code = 'EADDRREFUSED';
}

/**
 * A `lookup` for http.request that resolves the host and refuses the connection when any address it resolves to is
 * refused; the socket then connects to an address that passed (no second, unchecked resolution).
 */
export function guardedLookup(allowPrivate: boolean, resolve: typeof resolveAll = resolveAll): LookupFunction {
  return (hostname, options, callback) => {
    const refused = refusedHost(hostname, allowPrivate);
    if (refused) return void callback(new AddressRefusedError(refused), '', 0);
    resolve(hostname, options.family, (err, addresses) => {
      if (err) return void callback(err, '', 0);
      for (const a of addresses) {
        const why = refusedAddress(a.address, allowPrivate);
        if (why) return void callback(new AddressRefusedError(`${hostname} resolves to ${why}`), '', 0);
      }
      if (addresses.length === 0) return void callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
      if ((options as { all?: boolean }).all) (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      else callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}
