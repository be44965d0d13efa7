import { describe, expect, it } from 'vitest';
import { networkInterfaces } from 'node:os';
import { embeddedIpv4, guardedLookup, interfaceAddresses, refusedAddress, refusedHost, refusedUrl } from './address.js';
import { nextAttemptAt, parseRetryAfter, RETRY_WAITS_MS, canonicalEventType, tagsMatch } from '../domain/webhook-events.js';
import { sign, signatureHeader, generateSecret } from './signing.js';
import { Webhook } from 'standardwebhooks';

describe('webhook address rules (webhooks.md §1)', () => {
  it('only http and https URLs', () => {
    for (const url of ['ftp://example.com/x', 'file:///etc/passwd', 'gopher://example.com', 'javascript:alert(1)', 'example.com/hook', '/relative', 'not a url']) {
      expect(refusedUrl(url, true), url).toBeDefined();
    }
    for (const url of ['https://hooks.example.com/syncline', 'http://hooks.example.com:8080/a?b=c']) expect(refusedUrl(url, false), url).toBeUndefined();
  });

  it('refuses link-local and cloud metadata addresses always, even with private targets allowed', () => {
    for (const url of [
      'http://169.254.169.254/latest/meta-data/',
      'http://169.254.10.20/',
      'http://[fe80::1]/',
      'http://[fd00:ec2::254]/',
      'http://metadata.google.internal/computeMetadata/v1/',
      'http://METADATA.GOOGLE.INTERNAL./',
      'http://100.100.100.200/',
      'http://[::ffff:169.254.169.254]/',
      'http://[::ffff:a9fe:a9fe]/',
      'http://0xa9fea9fe/', // 169.254.169.254 in hex, normalised by the URL parser
      'http://224.0.0.1/',
    ]) {
      expect(refusedUrl(url, true), url).toBeDefined();
      expect(refusedUrl(url, false), url).toBeDefined();
    }
  });

  it('refuses private and loopback addresses unless allowed', () => {
    for (const url of [
      'http://10.1.2.3/',
      'http://172.16.0.1/',
      'http://172.31.255.255/',
      'http://192.168.1.10/',
      'http://127.0.0.1:9000/',
      'http://2130706433/', // 127.0.0.1 as a number
      'http://0.0.0.0/',
      'http://[::1]/',
      'http://[fc00::1]/',
      'http://[fd12:3456::1]/',
      'http://localhost:3000/',
      'http://api.localhost/',
      'http://[::ffff:127.0.0.1]/',
    ]) {
      expect(refusedUrl(url, false), url).toBeDefined();
      expect(refusedUrl(url, true), url).toBeUndefined();
    }
    for (const ip of ['172.32.0.1', '8.8.8.8', '2001:4860:4860::8888']) expect(refusedAddress(ip, false), ip).toBeUndefined();
  });

  it('checks resolved addresses at delivery: a name that resolves to loopback is refused unless allowed', async () => {
    const resolve = (allow: boolean, host: string) =>
      new Promise<{ err: Error | null; address: unknown }>((r) => guardedLookup(allow)(host, {}, (err, address) => r({ err, address })));
    const refused = await resolve(false, 'localhost');
    expect(refused.err?.message).toMatch(/loopback/);
    // Names that pass the creation check but resolve to refused addresses (DNS rebinding): the answer decides.
    const rebinding = (answer: string[]) =>
      new Promise<Error | null>((r) =>
        guardedLookup(true, (_h, _f, cb) => cb(null, answer.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))))(
          'hooks.example.com',
          {},
          (err) => r(err),
        ),
      );
    expect((await rebinding(['169.254.169.254']))?.message).toMatch(/hooks\.example\.com resolves to 169\.254\.169\.254/);
    expect(await rebinding(['93.184.216.34', 'fe80::1'])).toBeTruthy(); // any refused address refuses the name
    expect(await rebinding(['93.184.216.34'])).toBeNull();
    const allowed = await resolve(true, 'localhost');
    expect(allowed.err).toBeNull();
    expect(['127.0.0.1', '::1']).toContain(allowed.address);
    expect(refusedHost('metadata.goog', true)).toBeDefined();
  });
});

describe('webhook address rules: IPv6 forms that carry an IPv4 address, site-local, this host (issue 12 item 10)', () => {
  const HINT = /SYNCLINE_WEBHOOKS_ALLOW_PRIVATE/;

  it('decodes every IPv6 form that reaches an IPv4 address', () => {
    expect(embeddedIpv4('::127.0.0.1')).toEqual({ form: 'IPv4-compatible', ipv4: ['127.0.0.1'] });
    expect(embeddedIpv4('::7f00:1')).toEqual({ form: 'IPv4-compatible', ipv4: ['127.0.0.1'] });
    expect(embeddedIpv4('::ffff:0:127.0.0.1')).toEqual({ form: 'IPv4-translated', ipv4: ['127.0.0.1'] });
    expect(embeddedIpv4('::ffff:10.0.0.1')).toEqual({ form: 'IPv4-mapped', ipv4: ['10.0.0.1'] });
    expect(embeddedIpv4('64:ff9b::c0a8:101')).toEqual({ form: 'NAT64', ipv4: ['192.168.1.1'] });
    expect(embeddedIpv4('2002:7f00:1::')).toEqual({ form: '6to4', ipv4: ['127.0.0.1'] });
    // Teredo: server 65.54.227.120, client 127.0.0.1 obfuscated (bitwise not: 0x80ff:fffe)
    expect(embeddedIpv4('2001:0:4136:e378:8000:63bf:80ff:fffe')).toEqual({ form: 'Teredo', ipv4: ['65.54.227.120', '127.0.0.1'] });
    expect(embeddedIpv4('::1')).toBeUndefined();
    expect(embeddedIpv4('::')).toBeUndefined();
    expect(embeddedIpv4('2001:4860:4860::8888')).toBeUndefined();
  });

  it('refuses the IPv4-compatible, mapped, translated, NAT64, 6to4 and Teredo forms of private addresses, site-local and unique-local, naming the variable', () => {
    for (const url of [
      'http://[::127.0.0.1]/',
      'http://[::7f00:1]/',
      'http://[::ffff:0:127.0.0.1]/',
      'http://[::ffff:0:7f00:1]/',
      'http://[::ffff:7f00:1]/',
      'http://[::10.0.0.1]/',
      'http://[::ffff:0:192.168.0.1]/',
      'http://[64:ff9b::127.0.0.1]/',
      'http://[64:ff9b:1::8.8.8.8]/', // local-use NAT64 prefix: inside the operator's network
      'http://[2002:7f00:1::1]/',
      'http://[2002:c0a8:101::]/',
      'http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/',
      'http://[fec0::1]/',
      'http://[feff::1]/',
      'http://[fd00::2]/',
      'http://[fc00::1]/',
      'http://[::]/',
      'http://[0:0:0:0:0:0:0:1]/',
      'http://192.0.0.8/',
      'http://198.18.0.1/',
    ]) {
      const why = refusedUrl(url, false, { hostAddresses: () => [] });
      expect(why, url).toMatch(HINT);
      expect(refusedUrl(url, true), url).toBeUndefined();
    }
  });

  it('the embedded forms of link-local and metadata addresses are refused even when private targets are allowed', () => {
    for (const url of ['http://[::169.254.169.254]/', 'http://[::ffff:0:169.254.169.254]/', 'http://[64:ff9b::169.254.169.254]/', 'http://[2002:a9fe:a9fe::]/', 'http://[::ffff:224.0.0.1]/', 'http://[::2:0:0:1]/', 'http://[100::1]/']) {
      expect(refusedUrl(url, true), url).toBeDefined();
      expect(refusedUrl(url, true), url).not.toMatch(HINT);
    }
    // Public IPv4 addresses in those forms stay usable (6to4 and NAT64 gateways are legitimate routes).
    for (const ip of ['::ffff:8.8.8.8', '64:ff9b::8.8.8.8', '2002:808:808::1', '::8.8.8.8']) expect(refusedAddress(ip, false, { hostAddresses: () => [] }), ip).toBeUndefined();
  });

  it("refuses this host's own interface addresses, public ones included, in any spelling, unless private targets are allowed", () => {
    const own = () => ['203.0.113.7', '2001:db8:1::7'];
    for (const ip of ['203.0.113.7', '::ffff:203.0.113.7', '::ffff:cb00:7107', '2001:db8:1::7', '2001:0db8:0001:0000:0000:0000:0000:0007']) {
      expect(refusedAddress(ip, false, { hostAddresses: own }), ip).toMatch(/address of this host.*SYNCLINE_WEBHOOKS_ALLOW_PRIVATE/);
      expect(refusedAddress(ip, true, { hostAddresses: own }), ip).toBeUndefined();
    }
    expect(refusedAddress('203.0.113.8', false, { hostAddresses: own })).toBeUndefined();
    // The real interfaces of the machine running the test: every one of them is refused by default.
    const real = interfaceAddresses();
    expect(real.length).toBeGreaterThan(0);
    expect(real).toEqual(Object.values(networkInterfaces()).flatMap((l) => (l ?? []).map((i) => i.address)));
    for (const ip of real) {
      expect(refusedAddress(ip, false), ip).toBeDefined();
      expect(refusedUrl(`http://${ip.includes(':') ? `[${ip}]` : ip}/hook`, false), ip).toBeDefined();
    }
  });

  it('at delivery, DNS answers in those forms or naming this host are refused', async () => {
    const lookup = (answer: string[], allow: boolean, own: string[] = []) =>
      new Promise<Error | null>((r) =>
        guardedLookup(allow, (_h, _f, cb) => cb(null, answer.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))), { hostAddresses: () => own })(
          'hooks.example.com',
          {},
          (err) => r(err),
        ),
      );
    for (const answer of [['::127.0.0.1'], ['::ffff:0:127.0.0.1'], ['fec0::1'], ['8.8.8.8', '::ffff:0:10.1.1.1'], ['2002:7f00:1::']]) {
      const err = await lookup(answer, false);
      expect(err?.message, answer.join()).toMatch(/hooks\.example\.com resolves to .*SYNCLINE_WEBHOOKS_ALLOW_PRIVATE/);
      expect(await lookup(answer, true), answer.join()).toBeNull();
    }
    expect((await lookup(['198.51.100.20'], false, ['198.51.100.20']))?.message).toMatch(/address of this host/);
    expect(await lookup(['198.51.100.20'], false, ['198.51.100.21'])).toBeNull();
    expect(await lookup(['::ffff:0:169.254.169.254'], true)).toBeTruthy();
    expect(refusedHost('[fec0::1%eth0]', false, { hostAddresses: () => [] })).toMatch(HINT);
  });
});

describe('webhook rules', () => {
  it('retry schedule: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h; Retry-After lengthens a wait up to 10 h', () => {
    expect(RETRY_WAITS_MS).toEqual([0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]);
    const t0 = new Date('2026-01-01T00:00:00.000Z');
    expect(nextAttemptAt(t0, 1)?.toISOString()).toBe('2026-01-01T00:00:05.000Z');
    expect(nextAttemptAt(t0, 3)?.toISOString()).toBe('2026-01-01T00:30:00.000Z');
    expect(nextAttemptAt(t0, 7)?.toISOString()).toBe('2026-01-01T10:00:00.000Z');
    expect(nextAttemptAt(t0, 8)).toBeUndefined();
    expect(nextAttemptAt(t0, 1, 120_000)?.toISOString()).toBe('2026-01-01T00:02:00.000Z');
    expect(nextAttemptAt(t0, 3, 60_000)?.toISOString()).toBe('2026-01-01T00:30:00.000Z'); // shorter than scheduled: schedule wins
    expect(nextAttemptAt(t0, 1, 48 * 3_600_000)?.toISOString()).toBe('2026-01-01T10:00:00.000Z'); // capped
    expect(parseRetryAfter('120', t0)).toBe(120_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 01:00:00 GMT', t0)).toBe(3_600_000);
    expect(parseRetryAfter('soon', t0)).toBeUndefined();
    expect(parseRetryAfter(undefined, t0)).toBeUndefined();
    // three failures then success: about 35 minutes 5 seconds after the first attempt (§7.2 example)
    let at = t0;
    for (let attempt = 1; attempt <= 3; attempt++) at = nextAttemptAt(at, attempt)!;
    expect(at.getTime() - t0.getTime()).toBe(35 * 60_000 + 5_000);
  });

  it('event names: aliases case-insensitively to the canonical name; unknown names kept as written', () => {
    expect(canonicalEventType('data sync completed')).toBe('DataSyncCompleted');
    expect(canonicalEventType('Dataset status has changed to an error state')).toBe('DataSyncStatusChangedToError');
    expect(canonicalEventType('datasyncstatuschangedtoerror')).toBe('DataSyncStatusChangedToError');
    expect(canonicalEventType('Company data connection status changed')).toBe('DataConnectionStatusChanged');
    expect(canonicalEventType('New company synchronized')).toBe('NewCompanySynchronized');
    expect(canonicalEventType('Read.Completed')).toBe('read.completed');
    expect(canonicalEventType('invoices.write.successful')).toBe('invoices.write.successful');
  });

  it('company tag filters (§1.1)', () => {
    const tags = { region: 'us', service: 'minerva' };
    expect(tagsMatch(null, tags)).toBe(true);
    expect(tagsMatch([], tags)).toBe(true);
    expect(tagsMatch(['region:us', 'service:t2k'], tags)).toBe(true);
    expect(tagsMatch(['region:US'], tags)).toBe(false);
    expect(tagsMatch(['region:uk'], tags)).toBe(false);
    expect(tagsMatch(['url:http://x'], { url: 'http://x' })).toBe(true); // split at the first colon
  });

  it('signatures are Standard Webhooks signatures; two during a rotation, either verifies', () => {
    const secret = generateSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const old = generateSecret();
    const body = '{"id":"x","eventType":"read.completed"}';
    const ts = Math.floor(Date.now() / 1000);
    const headers = { 'webhook-id': 'msg_abc', 'webhook-timestamp': String(ts), 'webhook-signature': signatureHeader([secret, old], 'msg_abc', ts, body) };
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(new Webhook(old).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(generateSecret()).verify(body, headers)).toThrow();
    expect(() => new Webhook(secret).verify(body.replace('x', 'y'), headers)).toThrow();
    expect(sign(secret, 'msg_abc', ts, body)).toBe(new Webhook(secret).sign('msg_abc', new Date(ts * 1000), body));
  });
});
