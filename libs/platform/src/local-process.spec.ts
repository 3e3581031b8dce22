// Real child processes: the local Platform adapter the stack and the drills rely on.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isAlive, LocalProcessPlatform } from './local-process';
import type { PlatformEventInfo } from './platform';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'rs-platform-'));
// A process that traps SIGTERM to exit 0 after a short drain, and starts a grandchild.
const script = `
  process.on('SIGTERM', () => setTimeout(() => process.exit(0), 50));
  require('child_process').spawn('sleep', ['300'], { stdio: 'ignore' });
  console.log('started ' + process.pid);
  setInterval(() => {}, 1000);
`;

describe('LocalProcessPlatform', () => {
  let dir: string;
  let events: PlatformEventInfo[];
  let platform: LocalProcessPlatform;
  beforeEach(() => {
    dir = tmp();
    events = [];
    platform = new LocalProcessPlatform(path.join(dir, 'run'), path.join(dir, 'logs'), (e) => events.push(e));
  });
  afterEach(async () => {
    await platform.stopAll(2000);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const spec = (name: string) => ({ name, component: 'demo', command: process.execPath, args: ['-e', script] });

  it('starts a process, logs its output, keeps a pid file, and stops it gracefully', async () => {
    const info = await platform.start(spec('demo-1'));
    expect(isAlive(info.pid)).toBe(true);
    expect(fs.existsSync(path.join(dir, 'run', 'demo-1.pid'))).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    const stopped = await platform.stop('demo-1', 5000);
    expect(stopped.state).toBe('stopped');
    expect(stopped.exitCode).toBe(0);
    expect(isAlive(info.pid)).toBe(false);
    expect(fs.existsSync(path.join(dir, 'run', 'demo-1.pid'))).toBe(false);
    expect(fs.readFileSync(path.join(dir, 'logs', 'demo-1.log'), 'utf8')).toContain(`started ${info.pid}`);
    expect(events.map((e) => e.event)).toEqual(['starting', 'stopping', 'stopped']);
  });

  it('restarts with env overrides over the declared env, keeps them across restarts and starts, and resets them', async () => {
    const envScript = `
      process.on('SIGTERM', () => process.exit(0));
      console.log('env ' + JSON.stringify({ A: process.env.A, B: process.env.B, C: process.env.C }));
      setInterval(() => {}, 1000);
    `;
    const log = () =>
      fs
        .readFileSync(path.join(dir, 'logs', 'demo-env.log'), 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('env '));
    const lastEnv = async (n: number) => {
      for (let i = 0; i < 50 && log().length < n; i++) await new Promise((r) => setTimeout(r, 100));
      return JSON.parse(log()[n - 1]!.replace(/^env /, '')) as Record<string, string | undefined>;
    };
    const first = await platform.start({
      name: 'demo-env',
      component: 'demo',
      command: process.execPath,
      args: ['-e', envScript],
      env: { A: 'declared', B: 'b' },
    });
    expect(first.envOverrides).toBeUndefined();
    expect(await lastEnv(1)).toEqual({ A: 'declared', B: 'b' });

    const over = await platform.restart('demo-env', 2000, { env: { A: 'over', C: '' } });
    expect(over.envOverrides).toEqual({ A: 'over', C: '' });
    expect(await lastEnv(2)).toEqual({ A: 'over', B: 'b', C: '' }); // an empty value is set, empty
    expect(events.find((e) => e.event === 'starting' && e.detail['restarts'] === 1)?.detail['envOverrides']).toEqual({ A: 'over', C: '' });

    // A plain restart, and a start after a kill, keep them (a changed pod spec).
    expect((await platform.restart('demo-env', 2000)).envOverrides).toEqual({ A: 'over', C: '' });
    expect(await lastEnv(3)).toEqual({ A: 'over', B: 'b', C: '' });
    await platform.kill('demo-env');
    expect((await platform.startKnown('demo-env')).envOverrides).toEqual({ A: 'over', C: '' });
    expect(await lastEnv(4)).toEqual({ A: 'over', B: 'b', C: '' });

    const reset = await platform.restart('demo-env', 2000, { resetEnv: true });
    expect(reset.envOverrides).toBeUndefined();
    expect(await lastEnv(5)).toEqual({ A: 'declared', B: 'b' });

    await expect(platform.restart('demo-env', 2000, { env: { 'NOT-A-NAME': 'x' } })).rejects.toMatchObject({ reason: 'invalid_argument', field: 'env' });
    await expect(platform.restart('demo-env', 2000, { env: { A: 'x' }, resetEnv: true })).rejects.toMatchObject({ reason: 'invalid_argument', field: 'env' });
    expect(platform.get('demo-env')).toMatchObject({ pid: reset.pid, state: 'running' }); // refused before anything was touched
  });

  it('kills the whole process group, grandchildren included', async () => {
    const info = await platform.start(spec('demo-2'));
    await new Promise((r) => setTimeout(r, 500));
    const before = fs
      .readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => {
        try {
          return fs.readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ')[2] === String(info.pid);
        } catch {
          return false;
        }
      });
    expect(before.length).toBeGreaterThan(0); // the sleep grandchild (its group is demo-2's)
    const killed = await platform.kill('demo-2');
    expect(killed.state).toBe('killed');
    expect(killed.signal).toBe('SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    for (const pid of before) expect(isAlive(Number(pid))).toBe(false);
  });

  it('reports a crash as an exited event', async () => {
    await platform.start({ name: 'crasher', component: 'demo', command: process.execPath, args: ['-e', 'process.exit(3)'] });
    await platform.exited('crasher');
    expect(platform.get('crasher')).toMatchObject({ state: 'exited', exitCode: 3 });
    expect(events.find((e) => e.event === 'exited')?.detail).toEqual({ code: 3, signal: null });
  });

  it('a kill with restartAfterMs starts it again that long after, as an orchestrator would; a stop meanwhile wins', async () => {
    const first = await platform.start(spec('demo-r'));
    const killed = await platform.kill('demo-r', 'SIGKILL', { restartAfterMs: 300 });
    expect(killed.state).toBe('killed');
    expect(killed.nextRestartAt).toBeInstanceOf(Date);
    expect(isAlive(first.pid)).toBe(false);
    for (let i = 0; i < 50 && platform.get('demo-r')!.state !== 'running'; i++) await new Promise((r) => setTimeout(r, 50));
    const back = platform.get('demo-r')!;
    expect(back).toMatchObject({ state: 'running', restarts: 1 });
    expect(back.pid).not.toBe(first.pid);
    expect(events.find((e) => e.event === 'killed')?.detail).toMatchObject({ signal: 'SIGKILL', restartInMs: 300 });
    await platform.kill('demo-r', 'SIGKILL', { restartAfterMs: 300 });
    await platform.stop('demo-r'); // an operator's stop cancels the scheduled start
    await new Promise((r) => setTimeout(r, 500));
    expect(platform.get('demo-r')).toMatchObject({ state: 'killed', nextRestartAt: undefined, restarts: 1 });
    await expect(platform.kill('demo-r', 'SIGKILL', { restartAfterMs: -1 })).rejects.toMatchObject({ reason: 'invalid_argument', field: 'restart_after_ms' });
  });

  it('refuses to start a second process under a running name', async () => {
    await platform.start(spec('demo-3'));
    await expect(platform.start(spec('demo-3'))).rejects.toThrow(/already running/);
  });

  it('registers an on-demand instance without starting it; start, stop and kill then work on it by name', async () => {
    const registered = await platform.register(spec('on-demand'));
    expect(registered).toMatchObject({ name: 'on-demand', component: 'demo', state: 'stopped', pid: 0, restarts: 0 });
    expect(platform.list().map((p) => [p.name, p.state])).toEqual([['on-demand', 'stopped']]);
    expect(fs.existsSync(path.join(dir, 'run', 'on-demand.pid'))).toBe(false);
    expect(events).toEqual([]);
    // Stop and kill of an instance that is not running return it as it is.
    expect((await platform.stop('on-demand', 1000)).state).toBe('stopped');
    expect((await platform.kill('on-demand')).state).toBe('stopped');

    const started = await platform.startKnown('on-demand');
    expect(started).toMatchObject({ state: 'running', restarts: 0 });
    expect(isAlive(started.pid)).toBe(true);
    await expect(platform.register(spec('on-demand'))).rejects.toThrow(/already running/);
    await new Promise((r) => setTimeout(r, 300));
    expect((await platform.stop('on-demand', 5000)).state).toBe('stopped');
    expect(isAlive(started.pid)).toBe(false);
    const again = await platform.startKnown('on-demand');
    expect(again).toMatchObject({ state: 'running', restarts: 1 });
    expect((await platform.kill('on-demand')).state).toBe('killed');
    expect(events.map((e) => e.event)).toEqual(['starting', 'stopping', 'stopped', 'starting', 'killed']);

    // Registering a known instance that is not running gives it the new spec (same name).
    const changed = await platform.register({ ...spec('on-demand'), address: '127.0.0.1:1' });
    expect(changed).toMatchObject({ state: 'killed', address: '127.0.0.1:1' });
  });

  it('reaps processes left behind by a supervisor that died, and only those', async () => {
    const info = await platform.start(spec('orphan'));
    // A pid file whose pid now runs something else must not be killed.
    fs.writeFileSync(
      path.join(dir, 'run', 'stranger.pid'),
      JSON.stringify({ pid: process.pid, component: 'x', command: '/bin/sleep', args: ['1'], startedAt: '' }),
    );
    const reaped = await LocalProcessPlatform.reapStale(path.join(dir, 'run'), 2000);
    expect(reaped).toEqual([`orphan (pid ${info.pid})`]);
    await platform.exited('orphan');
    expect(isAlive(info.pid)).toBe(false);
    expect(fs.readdirSync(path.join(dir, 'run'))).toEqual([]);
  });
});
