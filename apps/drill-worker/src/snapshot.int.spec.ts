// BackupSnapshot for real: the model registry as its own process on a scratch Postgres, the real
// drill-worker (createActivities with real clients) on the real Temporal dev server, and the
// Temporal Schedule `npm start` creates (the time-skipping server has no Schedules).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createPool, listOperations, listSteps, migrateUp } from '@ranksafe/db';
import { describeSnapshotSchedule, ensureSnapshotSchedule, freePort, WORKSPACE_ROOT } from '@ranksafe/platform';
import { waitForServing } from '@ranksafe/serving-kit';
import { eventually, scratchDatabase, temporalDevEnv } from '@ranksafe/testing';
import { backupSnapshotWorkflow, type BackupSnapshotResult } from '@ranksafe/workflows';
import type { Pool } from 'pg';
import { loadWorkerConfig } from './config';
import { createDrillWorker } from './worker';

const TOKEN = randomBytes(16).toString('hex');

describe('BackupSnapshot against the real registry', () => {
  let env: TestWorkflowEnvironment;
  let db: Awaited<ReturnType<typeof scratchDatabase>>;
  let pool: Pool;
  let tmp: string;
  let registry: ChildProcess;
  let registryAddress: string;

  beforeAll(async () => {
    env = await temporalDevEnv();
    db = await scratchDatabase('rs_snapwf');
    await migrateUp(db.url);
    pool = createPool(db.url);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'snapwf-'));
    const port = await freePort();
    registryAddress = `127.0.0.1:${port}`;
    registry = spawn(process.execPath, ['--import', 'tsx', path.join(WORKSPACE_ROOT, 'apps/model-registry/src/main.ts')], {
      cwd: WORKSPACE_ROOT,
      env: {
        ...process.env,
        GRPC_PORT: String(port),
        METRICS_PORT: '-1',
        LOG_LEVEL: 'error',
        ADMIN_TOKEN: TOKEN,
        DATABASE_URL: db.url,
        REGISTRY_ARTIFACT_DIR: path.join(tmp, 'artifacts'),
        REGISTRY_BACKUP_DIR: path.join(tmp, 'backups'),
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    if (!(await waitForServing(registryAddress, 60_000))) throw new Error('the registry did not start');
  }, 180_000);
  afterAll(async () => {
    registry?.kill('SIGTERM');
    await pool?.end();
    await env?.teardown();
    await db?.drop().catch(() => undefined);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const workerFor = (taskQueue: string) =>
    createDrillWorker(
      loadWorkerConfig({
        TEMPORAL_ADDRESS: env.address,
        TEMPORAL_TASK_QUEUE: taskQueue,
        LOG_LEVEL: 'warn',
        DATABASE_URL: db.url,
        REGISTRY_ADDRESS: registryAddress,
        ADMIN_TOKEN: TOKEN,
      }),
    );

  it('snapshots, verifies and reports RPO; the run and its steps are in the operations log', async () => {
    const taskQueue = `snap-${randomUUID()}`;
    const { worker, close } = await workerFor(taskQueue);
    try {
      const workflowId = `backup-snapshot-test-${randomUUID()}`;
      const r: BackupSnapshotResult = await worker.runUntil(
        env.client.workflow.execute(backupSnapshotWorkflow, { taskQueue, workflowId, args: [{ rpoTargetMs: 3_600_000 }] }),
      );
      expect(r).toMatchObject({ label: workflowId, verified: true, rpoMet: true });
      expect(r.rpoMs).toBeGreaterThanOrEqual(0);
      expect(r.rows).toBeGreaterThanOrEqual(0);
      const steps = await listSteps(pool, workflowId);
      expect(steps.filter((s) => s.state === 'completed').map((s) => s.step)).toEqual(['create snapshot', 'verify snapshot', 'measure RPO']);
      expect(steps.every((s) => s.writes === 1)).toBe(true);
      const [op] = (await listOperations(pool, { kind: 'snapshot' })).filter((o) => o.workflowId === workflowId);
      expect(op).toMatchObject({ state: 'verified', target: 'model-registry' });
      expect(op!.endedAt).toBeInstanceOf(Date);
    } finally {
      await close();
    }
  }, 120_000);

  it('runs on a Temporal Schedule (created, then updated in place), each run verified', async () => {
    const taskQueue = `snap-sched-${randomUUID()}`;
    const scheduleId = `backup-snapshot-test-${randomUUID()}`;
    const first = await ensureSnapshotSchedule(env.client, { scheduleId, taskQueue, intervalMs: 3_600_000, rpoTargetMs: 7_200_000, paused: true });
    expect(first).toMatchObject({ created: true, paused: true, intervalMs: 3_600_000 });
    const second = await ensureSnapshotSchedule(env.client, { scheduleId, taskQueue, intervalMs: 2_000, rpoTargetMs: 60_000 });
    expect(second).toMatchObject({ created: false, paused: false, intervalMs: 2_000 });
    const { worker, close } = await workerFor(taskQueue);
    try {
      await worker.runUntil(async () => {
        let done: string | undefined;
        await eventually(
          async () => {
            for (const a of (await describeSnapshotSchedule(env.client, scheduleId)).recentActions) {
              const d = await env.client.workflow.getHandle(a.workflowId).describe();
              if (d.status.name === 'COMPLETED') done = a.workflowId;
            }
            return done !== undefined;
          },
          90_000,
          500,
        );
        const r: BackupSnapshotResult = await env.client.workflow.getHandle(done!).result();
        expect(r).toMatchObject({ verified: true, rpoTargetMs: 60_000 });
        expect(r.label).toBe(done);
      });
    } finally {
      await env.client.schedule.getHandle(scheduleId).delete();
      await close();
    }
  }, 150_000);
});
