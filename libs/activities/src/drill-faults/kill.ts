// SIGKILL through the Platform; undone by starting the process again unless something (the
// Recovery, an orchestrator's restart) already brought it back.
import type { FaultDriver } from './types';

export const killFault: FaultDriver = {
  describe: () => 'SIGKILL',
  reverts: (_spec, instances) => instances.map((i) => `start ${i.name} again if no recovery brought it back`),
  recorded: true,
  async inject({ platform }, { instance }) {
    const before = await platform.get(instance.name);
    const t = Date.now();
    await platform.kill(instance.name, 'SIGKILL');
    return { injectedAtUnixMs: t, pid: before.pid };
  },
  async prove({ platform }, { fault: f }) {
    const now = await platform.get(f.instance);
    if (now.state !== 'running') return { proof: `${f.instance} ${now.state}${now.signal ? ` by ${now.signal}` : ''} (pid ${f.pid} gone)` };
    if (now.pid !== f.pid && now.startedAt.getTime() >= f.injectedAtUnixMs)
      return { proof: `${f.instance} pid ${f.pid} gone, already replaced by pid ${now.pid}` };
    return { problem: `${f.instance} still runs as pid ${now.pid}: the kill did not take` };
  },
  async revert({ platform }, f) {
    const now = await platform.get(f.target).catch(() => undefined);
    if (now && now.state !== 'running') {
      await platform.start(f.target);
      return `${f.target} started again (it was ${now.state})`;
    }
    return `${f.target} already running again (pid ${now?.pid ?? '?'})`;
  },
};
