import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runSimCli, simOptionsFromCli } from './cli.js';

describe('syncline sim', () => {
  it('parses its options and serves on the chosen port', async () => {
    expect(simOptionsFromCli({ ratePerMinute: '30', concurrent: '2', refreshTokenIdleDays: '100' })).toMatchObject({
      host: '127.0.0.1',
      port: 4010,
      refreshTokenIdleDays: 100,
      rateLimit: { perMinute: 30, concurrent: 2 },
    });
    expect(() => simOptionsFromCli({ port: 'abc' })).toThrow(/--port/);
    const out = new PassThrough();
    let text = '';
    out.on('data', (c) => (text += String(c)));
    const sim = await runSimCli({ port: '0', tenantSize: '50' }, out);
    try {
      expect(text).toContain(sim.url);
      const root = (await (await fetch(sim.url)).json()) as { api: string };
      expect(root.api).toBe('/api.xro/2.0');
      const linked = (await (await fetch(`${sim.url}/connect/sandbox/authorize`, { method: 'POST', body: JSON.stringify({ seed: 'cli' }) })).json()) as { tenantId: string };
      const info = (await (await fetch(`${sim.url}/admin/tenants/${linked.tenantId}`)).json()) as { size: { invoices: number } };
      expect(info.size.invoices).toBe(50);
    } finally {
      await sim.close();
      expect(process.listenerCount('SIGTERM')).toBe(0);
    }
  });
});
