// ModelRollout on the running stack, measured from the outside: open-loop Search traffic through
// the gateway while (1) a good candidate (the fp32 build of the served model) rolls out 10% → 50%
// → 100% and (2) a deliberately broken one that skips the quality gate is caught by the canary
// analysis and rolled back; then production is rolled back to where it was. Per rollout: outcome,
// duration, failed analysis → rolled back, what clients saw (failed, degraded, share of answers by
// the candidate).
//   npm start   (another terminal), then
//   node --import tsx tools/bench/rollout.ts [--rate 10] [--window-ms 10000]
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { Client, Connection, WorkflowIdReusePolicy } from '@temporalio/client';
import { openLoop } from '@ranksafe/loadgen';
import { adminToken, loadStackEnv, readStackState, WORKSPACE_ROOT } from '@ranksafe/platform';
import { SearchClient, SearchRequest, type SearchResponse } from '@ranksafe/proto';
import { RegistryClient } from '@ranksafe/registry-client';
import { unaryCall } from '@ranksafe/serving-kit';
import { ids, modelRolloutWorkflow, type RolloutInput } from '@ranksafe/workflows';
import { printTable, writeReport } from './lib';

const { values } = parseArgs({ options: { rate: { type: 'string', default: '10' }, 'window-ms': { type: 'string', default: '10000' } } });
const MODEL = 'minilm-l6-v2';

function publish(dir: string, variant: string): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'apps/ops/src/main.ts', 'model', 'publish', path.join(WORKSPACE_ROOT, dir), '--variant', variant], {
    cwd: WORKSPACE_ROOT,
    encoding: 'utf8',
  });
  const v = new RegExp(`(${variant}-[0-9a-f]{12})`).exec(r.stdout)?.[1];
  if (r.status !== 0 || !v) throw new Error(`ops model publish ${dir} failed: ${r.stderr || r.stdout}`);
  return v;
}

async function main() {
  const cfg = loadStackEnv();
  const state = readStackState(cfg);
  const gateway = state?.components.find((c) => c.app === 'gateway')?.grpcAddress;
  if (!state || !gateway) {
    console.log('rollout bench: no running stack (.data/run/stack.json); start it with `npm start` first');
    process.exit(1);
  }
  const registry = new RegistryClient(state.components.find((c) => c.app === 'model-registry')!.grpcAddress!, { token: adminToken(cfg), actor: 'bench' });
  const conn = await Connection.connect({ address: state.temporalAddress });
  const temporal = new Client({ connection: conn, namespace: state.temporalNamespace });
  const search = new SearchClient(gateway, grpc.credentials.createInsecure());
  const queries = ['oak table', 'garden chair', 'led lamp', 'wool rug', 'office desk', 'sofa', 'bookshelf', 'mirror'];
  const original = await registry.aliasVersion(MODEL, 'production');
  const fp32 = publish('models/minilm-l6-v2', 'fp32');
  const bad = publish('models/minilm-l6-v2-bad', 'int8');
  const windowMs = Number(values['window-ms']);
  const strategy: RolloutInput['strategy'] = { analysis: { windowMs, intervalMs: Math.max(1000, Math.round(windowMs / 4)), warmupMs: 2500 } };

  const plan: Array<{ label: string; version: string; strategy: RolloutInput['strategy'] }> = [
    { label: 'good (fp32 build)', version: fp32, strategy },
    { label: 'bad, gate skipped', version: bad, strategy: { ...strategy, qualityGate: { skip: true } } },
    { label: 'bad, quality gate', version: bad, strategy },
    { label: 'back to the original', version: original, strategy },
  ];
  const rows: Array<Array<string | number>> = [];
  const runs: unknown[] = [];
  for (const p of plan) {
    if ((await registry.aliasVersion(MODEL, 'production')) === p.version) continue;
    let n = 0;
    let byCandidate = 0;
    let answered = 0;
    const load = openLoop({
      ratePerSec: Number(values.rate),
      durationMs: 3_600_000,
      request: async () => {
        const r: SearchResponse = await unaryCall(search.search.bind(search), SearchRequest.fromPartial({ query: queries[n++ % queries.length]!, k: 10 }), {
          deadlineMs: 5000,
        });
        answered++;
        if (r.rankingModel?.version === p.version) byCandidate++;
        return r;
      },
      classify: (r: SearchResponse) => ({ degraded: r.degraded }),
    });
    const h = await temporal.workflow.start(modelRolloutWorkflow, {
      taskQueue: state.temporalTaskQueue,
      workflowId: ids.rollout(MODEL),
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      args: [{ model: MODEL, version: p.version, strategy: p.strategy, reason: `bench: ${p.label}` }],
    });
    const result = await h.result();
    load.stop();
    const s = await load.done;
    rows.push([
      p.label,
      result.outcome,
      ((result.endedAtUnixMs - result.startedAtUnixMs) / 1000).toFixed(1),
      result.rollbackMs ?? '-',
      s.sent,
      s.failedTotal,
      s.degraded,
      `${((100 * byCandidate) / Math.max(1, answered)).toFixed(1)}%`,
      result.reason ?? '',
    ]);
    runs.push({ plan: p, result, load: s });
  }
  printTable(
    `rollouts of ${MODEL} under ${values.rate}/s open-loop Search (2 replicas per tier unless the stack says otherwise)`,
    ['rollout', 'outcome', 'duration s', 'failed analysis → rolled back ms', 'requests', 'failed', 'degraded', 'answered by candidate', 'reason'],
    rows,
  );
  console.log(`report: ${writeReport('rollout', { runs })}`);
  search.close();
  registry.close();
  await conn.close();
}

main().catch((e) => {
  console.error(`error: ${(e as Error).message}`);
  process.exit(1);
});
