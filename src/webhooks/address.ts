/**
 * Where webhooks may be sent (webhooks.md §1, `url` row). Checked twice: at creation for IP-literal hosts and
 * localhost, and at every delivery against the addresses the host resolves to — the connection is made to an address
 * that passed the check, so a DNS answer that changes between the two (rebinding) cannot reach a refused address.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { networkInterfaces } from 'node:os';

/** Link-local, cloud metadata, multicast and reserved ranges: refused whatever the operator allows. */
const ALWAYS_REFUSED = new BlockList();
ALWAYS_REFUSED.addSubnet('169.254.0.0', 16, 'ipv4'); // link-local, incl. 169.254.169.254 (AWS, GCP, Azure metadata)
ALWAYS_REFUSED.addAddress('100.100.100.200', 'ipv4'); // Alibaba Cloud metadata
ALWAYS_REFUSED.addSubnet('224.0.0.0', 4, 'ipv4'); // multicast
ALWAYS_REFUSED.addSubnet('240.0.0.0', 4, 'ipv4'); // reserved, broadcast
ALWAYS_REFUSED.addSubnet('fe80::', 10, 'ipv6'); // link-local
ALWAYS_REFUSED.addAddress('fd00:ec2::254', 'ipv6'); // AWS metadata over IPv6
ALWAYS_REFUSED.addSubnet('ff00::', 8, 'ipv6'); // multicast
ALWAYS_REFUSED.addSubnet('100::', 64, 'ipv6'); // discard-only

/** Private, loopback and "this host" ranges: allowed only with SYNCLINE_WEBHOOKS_ALLOW_PRIVATE=true. */
const PRIVATE = new BlockList();
PRIVATE.addSubnet('10.0.0.0', 8, 'ipv4');
PRIVATE.addSubnet('172.16.0.0', 12, 'ipv4');
PRIVATE.addSubnet('192.168.0.0', 16, 'ipv4');
PRIVATE.addSubnet('100.64.0.0', 10, 'ipv4'); // carrier-grade NAT
PRIVATE.addSubnet('127.0.0.0', 8, 'ipv4');
PRIVATE.addSubnet('0.0.0.0', 8, 'ipv4'); // "this network": 0.0.0.0 reaches the local host
PRIVATE.addSubnet('192.0.0.0', 24, 'ipv4'); // IETF protocol assignments (DS-Lite, NAT64 discovery…)
PRIVATE.addSubnet('198.18.0.0', 15, 'ipv4'); // network benchmarking, used inside private networks
PRIVATE.addSubnet('fc00::', 7, 'ipv6'); // unique local
PRIVATE.addSubnet('fec0::', 10, 'ipv6'); // site-local (deprecated, still routed inside sites)
PRIVATE.addSubnet('64:ff9b:1::', 48, 'ipv6'); // local-use NAT64 (RFC 8215)

/** Host names of metadata services, refused before any lookup. */
const METADATA_HOSTS = new Set(['metadata.google.internal', 'metadata.goog', 'metadata', 'instance-data', 'instance-data.ec2.internal']);

export const ADDRESS_REFUSED = 'address refused';
const ALLOW_HINT = '(set SYNCLINE_WEBHOOKS_ALLOW_PRIVATE=true to allow it)';

/** The eight 16-bit groups of an IPv6 address (zone id dropped), or undefined when it is not one. */
export function ipv6Groups(ip: string): number[] | undefined {
  let s = ip.replace(/%.*$/, '');
  if (isIP(s) !== 6) return undefined;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    s = `${s.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = s.split('::') as [string, string | undefined];
  const parse = (part: string | undefined) => (part ? part.split(':').map((h) => parseInt(h, 16)) : []);
  const left = parse(head);
  const right = parse(tail);
  if (tail === undefined) return left.length === 8 ? left : undefined;
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;

/**
 * The IPv4 address an IPv6 address carries and reaches, with the name of the form: IPv4-mapped (::ffff:a.b.c.d),
 * IPv4-compatible (::a.b.c.d), IPv4-translated (::ffff:0:a.b.c.d), NAT64 (64:ff9b::a.b.c.d and the local-use
 * 64:ff9b:1::/48), 6to4 (2002:AABB:CCDD::) and Teredo (2001:0::, server and obfuscated client). Every one of them
 * can deliver packets to that IPv4 address, so the IPv4 rules apply to it.
 */
export function embeddedIpv4(ip: string): { form: string; ipv4: string[] } | undefined {
  const g = ipv6Groups(ip);
  if (!g) return undefined;
  const zero = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  if (zero(0, 5) && g[5] === 0xffff) return { form: 'IPv4-mapped', ipv4: [v4(g[6]!, g[7]!)] };
  if (zero(0, 4) && g[4] === 0xffff && g[5] === 0) return { form: 'IPv4-translated', ipv4: [v4(g[6]!, g[7]!)] };
  // ::/96 minus :: and ::1, which are the IPv6 unspecified and loopback addresses themselves.
  if (zero(0, 6) && (g[6] !== 0 || g[7]! > 1)) return { form: 'IPv4-compatible', ipv4: [v4(g[6]!, g[7]!)] };
  if (g[0] === 0x64 && g[1] === 0xff9b && (zero(2, 6) || g[2] === 1)) return { form: 'NAT64', ipv4: [v4(g[6]!, g[7]!)] };
  if (g[0] === 0x2002) return { form: '6to4', ipv4: [v4(g[1]!, g[2]!)] };
  if (g[0] === 0x2001 && g[1] === 0) return { form: 'Teredo', ipv4: [v4(g[2]!, g[3]!), v4(~g[6]! & 0xffff, ~g[7]! & 0xffff)] };
  return undefined;
}

/** The addresses of this host's own network interfaces, read when asked (interfaces come and go). */
export function interfaceAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address));
}

/** Whether two IP addresses are the same address (IPv6 compared by value; an IPv4-mapped form equals its IPv4). */
function sameAddress(a: string, b: string): boolean {
  const key = (ip: string) => {
    const bare = ip.replace(/%.*$/, '');
    if (isIP(bare) === 4) return bare;
    const e = embeddedIpv4(bare);
    if (e?.form === 'IPv4-mapped') return e.ipv4[0]!;
    return ipv6Groups(bare)?.join(':') ?? bare;
  };
  return key(a) === key(b);
}

export interface AddressRuleOptions {
  /** This host's own addresses (default: read from its network interfaces). */
  hostAddresses?: () => readonly string[];
}

/** Why an IP address is refused, or undefined when it may be used. */
export function refusedAddress(ip: string, allowPrivate: boolean, opts: AddressRuleOptions = {}): string | undefined {
  const bare = ip.replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 0) return `${ip} is not an IP address`;
  const embedded = family === 6 ? embeddedIpv4(bare) : undefined;
  if (embedded) {
    for (const inner of embedded.ipv4) {
      const why = refusedAddress(inner, allowPrivate, opts);
      if (why) return `${ip} is an IPv6 address in ${embedded.form} form: ${why}`;
    }
    // The carried address is fine; the prefix itself may still be local (the local-use NAT64 prefix).
    if (!allowPrivate && PRIVATE.check(bare, 'ipv6')) return `${ip} is a private or loopback address ${ALLOW_HINT}`;
    return undefined;
  }
  const type = family === 4 ? ('ipv4' as const) : ('ipv6' as const);
  const groups = family === 6 ? ipv6Groups(bare)! : undefined;
  // :: and ::1 (unspecified and loopback) sit inside the reserved ::/8 but are "this host": private, not reserved.
  const thisHost = groups !== undefined && groups.slice(0, 7).every((x) => x === 0) && groups[7]! <= 1;
  // ::/8 is reserved; it is checked by hand because BlockList matches IPv4 addresses against IPv6 rules as ::ffff:a.b.c.d.
  const reserved = groups !== undefined && !thisHost && groups[0]! < 0x100;
  if (reserved || ALWAYS_REFUSED.check(bare, type)) return `${ip} is a link-local, metadata or reserved address`;
  if (allowPrivate) return undefined;
  if (thisHost || PRIVATE.check(bare, type)) return `${ip} is a private or loopback address ${ALLOW_HINT}`;
  if ((opts.hostAddresses ?? interfaceAddresses)().some((own) => sameAddress(own, bare))) {
    return `${ip} is an address of this host ${ALLOW_HINT}`;
  }
  return undefined;
}

const normaliseHost = (hostname: string) => hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
const isLocalhostName = (host: string) => host === 'localhost' || host.endsWith('.localhost');

/** Why a host (name or IP literal) is refused before any lookup, or undefined when it may be tried. */
export function refusedHost(hostname: string, allowPrivate: boolean, opts: AddressRuleOptions = {}): string | undefined {
  const host = normaliseHost(hostname);
  if (host === '') return 'the URL has no host';
  if (isIP(host.replace(/%.*$/, ''))) return refusedAddress(host, allowPrivate, opts);
  if (METADATA_HOSTS.has(host)) return `${host} is a cloud metadata endpoint`;
  if (isLocalhostName(host) && !allowPrivate) return `${host} is a loopback address ${ALLOW_HINT}`;
  return undefined;
}

/**
 * The rule applied when a consumer is created: an absolute http(s) URL whose host, if it is an IP literal, a
 * metadata name or localhost, is allowed. Other names are checked against their addresses at delivery.
 * Returns the reason for refusal, or undefined.
 */
export function refusedUrl(raw: string, allowPrivate: boolean, opts: AddressRuleOptions = {}): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an absolute http:// or https:// URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `must be an http:// or https:// URL, not ${url.protocol.replace(/:$/, '')}`;
  return refusedHost(url.hostname, allowPrivate, opts);
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
export function guardedLookup(allowPrivate: boolean, resolve: typeof resolveAll = resolveAll, opts: AddressRuleOptions = {}): LookupFunction {
  return (hostname, options, callback) => {
    const refused = refusedHost(hostname, allowPrivate, opts);
    if (refused) return void callback(new AddressRefusedError(refused), '', 0);
    resolve(hostname, options.family, (err, addresses) => {
      if (err) return void callback(err, '', 0);
      for (const a of addresses) {
        const why = refusedAddress(a.address, allowPrivate, opts);
        if (why) return void callback(new AddressRefusedError(`${hostname} resolves to ${why}`), '', 0);
      }
      if (addresses.length === 0) return void callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
      if ((options as { all?: boolean }).all) (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      else callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}
