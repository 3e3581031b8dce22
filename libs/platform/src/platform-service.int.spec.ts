// ranksafe.v1.Platform over real gRPC on loopback, in front of a LocalProcessPlatform running real
// child processes (small `node -e` TCP servers), with its events in a real Postgres.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { Pool } from 'pg';
import { createPool, migrateUp } from '@ranksafe/db';
import { PlatformClient as PlatformStub } from '@ranksafe/proto';
import { adminMetadata, checkHealth, unaryCall, type RunningService } from '@ranksafe/serving-kit';
import { eventually, scratchDatabase } from '@ranksafe/testing';
import { isAlive, LocalProcessPlatform } from './local-process';
import { LocalReplicaPlatform, postgresEventRecorder, postgresEventSource } from './local-replica';
import { isPlatformError, type ProcessSpec, type RestartPolicy } from './platform';
import { PlatformClient } from './platform-client';
import { servePlatform } from './platform-service';
import { freePort } from './ports';

const TOKEN = 'platform-test-token-0123456789';

// Answers every connection with its pid, on the port in $PORT; SIGTERM drains briefly then exits 0.
const server = `
  const srv = require('net').createServer((s) => s.end(String(process.pid)));
  srv.listen(Number(process.env.PORT), '127.0.0.1');
  process.on('SIGTERM', () => srv.close(() => process.exit(0)));
`;

/** The pid of whoever answers on 127.0.0.1:port (retrying while it starts). */
async function pidOn(port: number, timeoutMs = 10_000): Promise<number> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await new Promise<number>((resolve, reject) => {
        const s = net.connect(port, '127.0.0.1');
        let data = '';
        s.on('data', (d) => (data += d));
        s.on('end', () => resolve(Number(data)));
        s.on('error', reject);
      });
    } catch (e) {
      if (Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

describe('the Platform service over a LocalProcessPlatform', () => {
  let db: Awaited<ReturnType<typeof scratchDatabase>>;
  let pool: Pool;
  const dirs: string[] = [];
  const platforms: LocalProcessPlatform[] = [];
  const services: RunningService[] = [];
  const clients: PlatformClient[] = [];

  beforeAll(async () => {
    db = await scratchDatabase('rs_platform');
    await migrateUp(db.url);
    pool = createPool(db.url, { max: 2 });
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    for (const s of services) await s.shutdown();
    for (const p of platforms) await p.stopAll(2000);
    await pool.end();
    await db.drop();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  /** A supervisor with `names` started (each a TCP server on its own port) and its Platform service. */
  async function supervisor(names: string[], restartPolicy?: RestartPolicy) {
    const record = postgresEventRecorder(pool);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-platform-svc-'));
    dirs.push(dir);
    const local = new LocalProcessPlatform(path.join(dir, 'run'), path.join(dir, 'logs'), (e) => record(e), { restartPolicy });
    platforms.push(local);
    const ports: Record<string, number> = {};
    for (const name of names) {
      const port = await freePort();
      ports[name] = port;
      const spec: ProcessSpec = {
        name,
        component: 'demo',
        command: process.execPath,
        args: ['-e', server],
        env: { PORT: String(port) },
        address: `127.0.0.1:${port}`,
      };
      await local.start(spec);
      await pidOn(port);
    }
    const svc = await servePlatform({
      platform: new LocalReplicaPlatform(local, postgresEventSource(pool)),
      host: '127.0.0.1',
      port: 0,
      metricsPort: -1,
      adminToken: TOKEN,
      logLevel: 'silent',
    });
    services.push(svc);
    const client = new PlatformClient(svc.address, TOKEN);
    clients.push(client);
    return { local, svc, client, ports };
  }

  it('lists what it started, kills one (state killed + an event), restarts it on the same name and port, and Start is idempotent', async () => {
    const { client, ports, svc } = await supervisor(['demo-1', 'demo-2']);
    expect((await checkHealth(svc.address, 'ranksafe.v1.Platform')).status).toBe('SERVING');

    const listed = await client.list();
    expect(listed.map((i) => [i.name, i.component, i.address, i.state, i.restarts])).toEqual([
      ['demo-1', 'demo', `127.0.0.1:${ports['demo-1']}`, 'running', 0],
      ['demo-2', 'demo', `127.0.0.1:${ports['demo-2']}`, 'running', 0],
    ]);
    expect(await client.list({ component: 'other' })).toEqual([]);
    const first = listed[0]!;
    expect(await pidOn(ports['demo-1']!)).toBe(first.pid);

    const killed = await client.kill('demo-1');
    expect(killed).toMatchObject({ name: 'demo-1', state: 'killed', signal: 'SIGKILL', pid: first.pid });
    expect(isAlive(first.pid)).toBe(false);
    expect((await client.get('demo-1')).state).toBe('killed');
    expect((await client.get('demo-2')).state).toBe('running');
    await eventually(async () => (await client.events({ instance: 'demo-1' })).some((e) => e.event === 'killed'));
    const events = await client.events({ instance: 'demo-1' });
    expect(events.map((e) => e.event)).toEqual(['killed', 'starting']); // newest first
    expect(events[0]!.detail).toMatchObject({ signal: 'SIGKILL', pid: first.pid });
    expect(await client.events({ instance: 'demo-1', since: new Date(Date.now() + 60_000) })).toEqual([]);

    const restarted = await client.restart('demo-1', { graceMs: 2000 });
    expect(restarted).toMatchObject({ name: 'demo-1', state: 'running', restarts: 1, address: `127.0.0.1:${ports['demo-1']}` });
    expect(restarted.pid).not.toBe(first.pid);
    expect(await pidOn(ports['demo-1']!)).toBe(restarted.pid); // same port, new process

    const again = await client.start('demo-1');
    expect(again).toMatchObject({ pid: restarted.pid, restarts: 1, state: 'running' });

    // A graceful Restart of a running instance: SIGTERM (it exits 0), then a new process on the same port.
    const second = await client.restart('demo-1', { graceMs: 5000 });
    expect(second.restarts).toBe(2);
    expect(isAlive(restarted.pid)).toBe(false);
    expect(await pidOn(ports['demo-1']!)).toBe(second.pid);
    await eventually(async () => (await client.events({ instance: 'demo-1', limit: 3 })).map((e) => e.event).join() === 'starting,stopped,stopping');

    // Env overrides travel both ways: set by Restart, reported by every Instance, dropped by reset_env.
    const over = await client.restart('demo-1', { graceMs: 5000, env: { RANKSAFE_DEMO: 'over', EMPTY: '' } });
    expect(over.envOverrides).toEqual({ RANKSAFE_DEMO: 'over', EMPTY: '' });
    expect((await client.get('demo-1')).envOverrides).toEqual({ RANKSAFE_DEMO: 'over', EMPTY: '' });
    expect(await pidOn(ports['demo-1']!)).toBe(over.pid);
    const reset = await client.restart('demo-1', { graceMs: 5000, resetEnv: true });
    expect(reset.envOverrides).toBeUndefined();
    await expect(client.restart('demo-1', { env: { 'bad name': 'x' } })).rejects.toMatchObject({ reason: 'invalid_argument', field: 'env' });
    expect(await pidOn(ports['demo-1']!)).toBe(reset.pid);

    const stopped = await client.stop('demo-2', { graceMs: 5000 });
    expect(stopped).toMatchObject({ state: 'stopped', exitCode: 0 });
    const started = await client.start('demo-2');
    expect(started).toMatchObject({ state: 'running', restarts: 1 });
    expect(await pidOn(ports['demo-2']!)).toBe(started.pid);
  });

  it('answers NOT_FOUND for names it does not know, INVALID_ARGUMENT for bad input, and refuses calls without the token', async () => {
    const { client, svc } = await supervisor(['demo-3']);
    for (const call of [
      () => client.get('nope'),
      () => client.kill('nope'),
      () => client.restart('nope'),
      () => client.start('nope'),
      () => client.stop('nope'),
    ]) {
      const err = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isPlatformError(err, 'not_found')).toBe(true);
    }
    await expect(client.kill('demo-3', 'SIGNOPE')).rejects.toMatchObject({ reason: 'invalid_argument', field: 'signal' });
    await expect(client.stop('demo-3', { graceMs: 700_000 })).rejects.toMatchObject({ reason: 'invalid_argument', field: 'grace_ms' });
    await expect(client.get('')).rejects.toMatchObject({ reason: 'invalid_argument', field: 'name' });
    await expect(client.events({ limit: 5000 })).rejects.toMatchObject({ reason: 'invalid_argument', field: 'limit' });
    expect((await client.get('demo-3')).state).toBe('running');

    const stub = new PlatformStub(svc.address, grpc.credentials.createInsecure());
    try {
      await expect(unaryCall(stub.listInstances.bind(stub), { component: '' }, { deadlineMs: 5000 })).rejects.toMatchObject({
        code: grpc.status.UNAUTHENTICATED,
      });
      const wrong = adminMetadata(new grpc.Metadata(), 'not-the-token-0123456789');
      await expect(
        unaryCall(stub.kill.bind(stub), { name: 'demo-3', signal: '', restartAfterMs: 0 }, { deadlineMs: 5000, metadata: wrong }),
      ).rejects.toMatchObject({
        code: grpc.status.PERMISSION_DENIED,
      });
      const md = adminMetadata(new grpc.Metadata(), TOKEN);
      await expect(unaryCall(stub.getInstance.bind(stub), { name: 'nope' }, { deadlineMs: 5000, metadata: md })).rejects.toMatchObject({
        code: grpc.status.NOT_FOUND,
      });
    } finally {
      stub.close();
    }
    expect((await client.get('demo-3')).state).toBe('running');
  });

  it('with the on-failure policy brings a killed or crashed process back on its port, with exponential backoff; a Stop stays stopped', async () => {
    const { client, ports } = await supervisor(['flaky'], { kind: 'on-failure', backoffMs: 300, maxBackoffMs: 5000 });
    const port = ports['flaky']!;
    const p0 = (await client.get('flaky')).pid;

    const before = Date.now();
    const killed = await client.kill('flaky');
    const after = Date.now();
    expect(killed.state).toBe('killed');
    // First failure: the base backoff.
    expect(killed.nextRestartAt!.getTime()).toBeGreaterThanOrEqual(before + 300);
    expect(killed.nextRestartAt!.getTime()).toBeLessThanOrEqual(after + 300);
    await eventually(async () => (await client.get('flaky')).state === 'running');
    const back = await client.get('flaky');
    expect(back).toMatchObject({ restarts: 1, nextRestartAt: undefined });
    expect(back.pid).not.toBe(p0);
    expect(await pidOn(port)).toBe(back.pid);

    // A crash from outside (kill -9 of the pid, as a drill does): the backoff has doubled.
    process.kill(back.pid, 'SIGKILL');
    await eventually(async () => (await client.get('flaky')).restarts === 2);
    const third = await client.get('flaky');
    expect(third.state).toBe('running');
    expect(await pidOn(port)).toBe(third.pid);
    await eventually(async () => (await client.events({ instance: 'flaky' })).some((e) => e.event === 'starting' && e.detail.restarts === 2));
    const events = (await client.events({ instance: 'flaky' })).reverse();
    expect(events.map((e) => [e.event, e.detail.reason, e.detail.restartInMs])).toEqual([
      ['starting', undefined, undefined],
      ['killed', undefined, 300],
      ['starting', 'policy', undefined],
      ['exited', undefined, 600],
      ['starting', 'policy', undefined],
    ]);
    expect(events[3]!.detail).toMatchObject({ code: null, signal: 'SIGKILL' });

    const stopped = await client.stop('flaky', { graceMs: 5000 });
    expect(stopped).toMatchObject({ state: 'stopped', nextRestartAt: undefined });
  });

  it('serves an on-demand instance that was registered, not started: listed stopped, then Start and Stop by name', async () => {
    const { local, client } = await supervisor([]);
    const port = await freePort();
    await local.register({ name: 'agent', component: 'load-agent', command: process.execPath, args: ['-e', server], env: { PORT: String(port) } });
    expect((await client.list()).map((i) => [i.name, i.component, i.state, i.pid])).toEqual([['agent', 'load-agent', 'stopped', 0]]);
    const started = await client.start('agent');
    expect(started).toMatchObject({ name: 'agent', state: 'running', restarts: 0 });
    expect(await pidOn(port)).toBe(started.pid);
    expect((await client.start('agent')).pid).toBe(started.pid);
    const stopped = await client.stop('agent', { graceMs: 5000 });
    expect(stopped).toMatchObject({ state: 'stopped', exitCode: 0 });
    expect(isAlive(started.pid)).toBe(false);
  });
});
