// Failure detection and recovery on the running stack, measured from the outside: open-loop
// Search traffic through the gateway, `kill -9` of a replica through ranksafe.v1.Platform, then
// the incident the monitor opened and the Recovery closed (Postgres), and what clients saw.
//   npm start   (another terminal), then
//   node --import tsx tools/bench/recovery.ts [--instance ranking-service-2] [--rate 10] [--rounds 3]
//   … --crash-worker   also SIGKILL the drill-worker while the Recovery runs, start it again, and
//                      show from the step log that no step was repeated (writes = 1)
import * as grpc from '@grpc/grpc-js';
import { parseArgs } from 'node:util';
import { createPool, listIncidents, listSteps } from '@ranksafe/db';
import { openLoop } from '@ranksafe/loadgen';
import { adminToken, loadStackEnv, PlatformClient, readStackState } from '@ranksafe/platform';
import { SearchClient, SearchRequest } from '@ranksafe/proto';
import { checkHealth, unaryCall } from '@ranksafe/serving-kit';
import { printTable, writeReport } from './lib';

const { values } = parseArgs({
  options: {
    instance: { type: 'string', default: 'ranking-service-2' },
    rate: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    'timeout-ms': { type: 'string', default: '60000' },
    'crash-worker': { type: 'boolean', default: false },
  },
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const cfg = loadStackEnv();
  const state = readStackState(cfg);
  const gateway = state?.components.find((c) => c.app === 'gateway')?.grpcAddress;
  const target = state?.components.find((c) => c.instance === values.instance);
  if (!state || !gateway || !target?.grpcAddress || !state.platformAddress) {
    console.log('recovery bench: no running stack with that instance (.data/run/stack.json); start it with `npm start` first');
    process.exit(1);
  }
  const platform = new PlatformClient(state.platformAddress, adminToken(cfg));
  const pool = createPool(state.databaseUrl, { max: 2 });
  const client = new SearchClient(gateway, grpc.credentials.createInsecure());
  const queries = ['oak table', 'garden chair', 'led lamp', 'wool rug', 'office desk', 'sofa', 'bookshelf', 'mirror'];
  let n = 0;
  const rows: Array<Array<string | number>> = [];
  const runs: unknown[] = [];
  for (let round = 1; round <= Number(values.rounds); round++) {
    const load = openLoop({
      ratePerSec: Number(values.rate),
      durationMs: 3_600_000,
      request: () => unaryCall(client.search.bind(client), SearchRequest.fromPartial({ query: queries[n++ % queries.length]!, k: 10 }), { deadlineMs: 2000 }),
      classify: (r: { degraded: boolean }) => ({ degraded: r.degraded }),
    });
    await sleep(3000);
    const before = { ...load.stats, failed: { ...load.stats.failed } };
    const killedAt = Date.now();
    await platform.kill(values.instance!, 'SIGKILL');
    let incident;
    const until = killedAt + Number(values['timeout-ms']);
    const restartsBefore = (await platform.get(values.instance!)).restarts;
    if (values['crash-worker']) {
      // Wait for the Recovery to be under way, then crash the worker that runs it and bring it back.
      while (Date.now() < until) {
        const [i] = (await listIncidents(pool, { instance: values.instance, limit: 1 })).filter((x) => x.detectedAt.getTime() >= killedAt - 1000);
        if (i?.state === 'recovering') break;
        await sleep(50);
      }
      await sleep(300);
      await platform.kill('drill-worker', 'SIGKILL');
      console.log(`  round ${round}: drill-worker SIGKILLed ${Date.now() - killedAt} ms after the replica`);
      await sleep(1000);
      await platform.start('drill-worker');
    }
    while (Date.now() < until) {
      [incident] = (await listIncidents(pool, { instance: values.instance, limit: 1 })).filter((i) => i.detectedAt.getTime() >= killedAt - 1000);
      if (incident && (incident.state === 'recovered' || incident.state === 'unrecovered')) break;
      await sleep(100);
    }
    // Full capacity: the replica answers SERVING and the gateway ranks again (no degraded answers for 2 s).
    const health = await checkHealth(target.grpcAddress, '', 1000);
    await sleep(2000);
    load.stop();
    const s = await load.done;
    const failed = s.failedTotal - Object.values(before.failed).reduce((a, b) => a + b, 0);
    const detect = incident ? incident.detectedAt.getTime() - killedAt : NaN;
    const recover = incident?.recoveredAt ? incident.recoveredAt.getTime() - incident.detectedAt.getTime() : NaN;
    const steps = incident?.recoveryWorkflowId ? (await listSteps(pool, incident.recoveryWorkflowId)).filter((x) => x.at.getTime() >= killedAt - 1000) : [];
    const repeated = steps.filter((x) => x.writes > 1).map((x) => `${x.step}:${x.state}`);
    const restarts = (await platform.get(values.instance!)).restarts - restartsBefore;
    rows.push([
      round,
      incident?.state ?? 'none',
      detect,
      recover,
      detect + recover,
      health.status,
      s.sent - before.sent,
      failed,
      s.degraded - before.degraded,
      restarts,
      repeated.join(',') || 'none',
    ]);
    runs.push({ round, killedAt, incident, health, load: s });
    await sleep(3000);
  }
  printTable(
    `kill -9 of ${values.instance}${values['crash-worker'] ? ' and of the drill-worker mid-recovery' : ''} under ${values.rate}/s open-loop Search`,
    [
      'round',
      'incident',
      'kill→detected ms',
      'detected→recovered ms',
      'kill→recovered ms',
      'health after',
      'requests after kill',
      'failed',
      'degraded',
      'restarts',
      'repeated steps',
    ],
    rows,
  );
  console.log(`report: ${writeReport('recovery', runs)}`);
  platform.close();
  client.close();
  await pool.end();
}

main().catch((e) => {
  console.error(`error: ${(e as Error).message}`);
  process.exit(1);
});
