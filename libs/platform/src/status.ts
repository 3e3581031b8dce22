import * as http from 'node:http';
import { Connection } from '@temporalio/client';
import { probeDatabase, redactUrl } from '@ranksafe/db';
import { checkHealth } from '@ranksafe/serving-kit';
import type { StackState } from './stack-state';

export interface ComponentStatus {
  component: string;
  address: string;
  status: 'SERVING' | 'NOT_SERVING' | 'UNREACHABLE';
  detail: string;
}

function httpGet(url: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** How many workers poll `taskQueue` for workflow tasks: the drill-worker is healthy when > 0. */
export async function workflowPollers(conn: Connection, namespace: string, taskQueue: string): Promise<number> {
  const tq = await conn.workflowService.describeTaskQueue({
    namespace,
    taskQueue: { name: taskQueue, kind: 1 /* NORMAL */ },
    taskQueueType: 1 /* WORKFLOW */,
  });
  return tq.pollers?.length ?? 0;
}

async function temporalStatus(state: StackState, timeoutMs: number): Promise<ComponentStatus[]> {
  const out: ComponentStatus[] = [];
  let conn: Connection | undefined;
  try {
    conn = await Connection.connect({ address: state.temporalAddress, connectTimeout: timeoutMs });
    const h = await conn.healthService.check({});
    const serving = h.status === 1;
    out.push({
      component: 'temporal',
      address: state.temporalAddress,
      status: serving ? 'SERVING' : 'NOT_SERVING',
      detail: `namespace ${state.temporalNamespace}`,
    });
    const pollers = await workflowPollers(conn, state.temporalNamespace, state.temporalTaskQueue);
    out.push({
      component: 'drill-worker',
      address: `task queue ${state.temporalTaskQueue}`,
      status: pollers > 0 ? 'SERVING' : 'NOT_SERVING',
      detail: `${pollers} poller(s)`,
    });
  } catch (e) {
    out.push({ component: 'temporal', address: state.temporalAddress, status: 'UNREACHABLE', detail: (e as Error).message.split('\n')[0] });
    out.push({ component: 'drill-worker', address: `task queue ${state.temporalTaskQueue}`, status: 'UNREACHABLE', detail: 'Temporal is unreachable' });
  } finally {
    await conn?.close();
  }
  return out;
}

/** Health of every component of the stack described by `state`, checked in parallel. */
export async function stackStatus(state: StackState, timeoutMs = 3000): Promise<ComponentStatus[]> {
  const checks: Array<Promise<ComponentStatus | ComponentStatus[]>> = [];
  checks.push(
    probeDatabase(state.databaseUrl, timeoutMs).then((problem) => ({
      component: 'postgres',
      address: redactUrl(state.databaseUrl),
      status: problem ? 'UNREACHABLE' : 'SERVING',
      detail: problem ?? `mode ${state.postgresMode}`,
    })),
  );
  checks.push(temporalStatus(state, timeoutMs));
  if (state.temporalUiUrl) {
    const url = state.temporalUiUrl;
    checks.push(
      httpGet(url, timeoutMs).then(
        (code) => ({ component: 'temporal-ui', address: url, status: code === 200 ? 'SERVING' : 'NOT_SERVING', detail: `HTTP ${code}` }),
        (e: Error) => ({ component: 'temporal-ui', address: url, status: 'UNREACHABLE', detail: e.message }),
      ),
    );
  }
  for (const c of state.components) {
    if (!c.grpcAddress) continue;
    const address = c.grpcAddress;
    checks.push(
      checkHealth(address, '', timeoutMs).then((h) => ({
        component: c.instance,
        address,
        status: h.status === 'SERVING' ? 'SERVING' : h.status === 'UNREACHABLE' ? 'UNREACHABLE' : 'NOT_SERVING',
        detail: h.detail ?? `grpc.health.v1 ${h.status}`,
      })),
    );
  }
  return (await Promise.all(checks)).flat();
}
