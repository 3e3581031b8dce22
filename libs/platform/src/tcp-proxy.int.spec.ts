// The registry's database proxy against the real Postgres: queries pass through it; its close is a
// real cut (new connections refused, a pooled connection broken, not hung); started again on the same
// port, the same pool works again with nothing lost.
import { createPool, probeDatabase } from '@ranksafe/db';
import { testServerUrl } from '@ranksafe/testing';
import { TcpProxy, urlThrough } from './tcp-proxy';

describe('TcpProxy in front of Postgres', () => {
  const upstream = new URL(testServerUrl());
  const start = (port = 0) =>
    TcpProxy.start({ listenHost: '127.0.0.1', listenPort: port, upstreamHost: upstream.hostname, upstreamPort: Number(upstream.port || 5432) });

  it('passes queries through, refuses and resets on close, and works again when started on the same port', async () => {
    let proxy = await start();
    const url = urlThrough(testServerUrl(), '127.0.0.1', proxy.port);
    const pool = createPool(url, { max: 2, connectionTimeoutMillis: 2000 });
    try {
      await pool.query('CREATE TEMP TABLE IF NOT EXISTS x (v int)'); // a pooled connection, idle afterwards
      expect((await pool.query<{ n: number }>('SELECT 41 + 1 AS n')).rows[0]!.n).toBe(42);
      expect(proxy.stats().open).toBeGreaterThanOrEqual(1);

      const held = await pool.connect(); // a connection checked out across the cut
      const heldErrors: Error[] = [];
      held.on('error', (e) => heldErrors.push(e)); // no query in flight when it breaks: pg reports it as an event
      await proxy.close();
      expect(await probeDatabase(url, 1000)).toMatch(/ECONNREFUSED/);
      const t = Date.now();
      await expect(held.query('SELECT 1')).rejects.toThrow(/terminated|ECONNRESET|Connection|not queryable/i);
      expect(heldErrors.map((e) => e.message).join()).toMatch(/ECONNRESET|terminated/);
      held.release(true);
      await expect(pool.query('SELECT 1')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      expect(Date.now() - t).toBeLessThan(2000); // failed, not hung

      proxy = await start(proxy.port);
      expect((await pool.query<{ n: number }>('SELECT 1 AS n')).rows[0]!.n).toBe(1);
      expect(await probeDatabase(url, 1000)).toBeUndefined();
    } finally {
      await pool.end().catch(() => undefined);
      await proxy.close();
    }
  });
});
