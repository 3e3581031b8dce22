import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { dataDir, ensureDir } from './paths';
import { platformAddressOf, type StackEnv } from './stack-config';
import { stackComponents, type ComponentSpec, type StackEndpoints } from './topology';

/** What a running stack tells other tools (ops): where everything is. Written by `npm start`. */
export interface StackState {
  supervisorPid: number;
  startedAtUnixMs: number;
  postgresMode: string;
  databaseUrl: string;
  temporalAddress: string;
  temporalNamespace: string;
  temporalTaskQueue: string;
  temporalUiUrl?: string;
  /** host:port of ranksafe.v1.Platform (the supervisor's process table). */
  platformAddress?: string;
  /** Every component; `onDemand` ones are registered with the Platform, not started by `npm start`. */
  components: Array<Pick<ComponentSpec, 'app' | 'instance' | 'grpcAddress' | 'metricsPort' | 'onDemand'>>;
}

export const stackStateFile = (cfg: StackEnv) => path.join(dataDir(cfg.RANKSAFE_DATA_DIR), 'run', 'stack.json');

export function writeStackState(cfg: StackEnv, state: StackState): void {
  const file = stackStateFile(cfg);
  ensureDir(path.dirname(file));
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 2));
  fs.renameSync(`${file}.tmp`, file);
}

export function removeStackState(cfg: StackEnv): void {
  fs.rmSync(stackStateFile(cfg), { force: true });
}

/** The state of the running stack, or undefined when none was written or its supervisor is gone. */
export function readStackState(cfg: StackEnv): StackState | undefined {
  try {
    const s = JSON.parse(fs.readFileSync(stackStateFile(cfg), 'utf8')) as StackState;
    process.kill(s.supervisorPid, 0);
    return s;
  } catch {
    return undefined;
  }
}

/**
 * The admin token: ADMIN_TOKEN, else the one kept in <data>/admin-token (created on first use,
 * mode 0600), so that the stack and the ops CLI agree without printing it anywhere.
 */
export function adminToken(cfg: StackEnv): string {
  if (cfg.ADMIN_TOKEN) return cfg.ADMIN_TOKEN;
  const file = path.join(ensureDir(dataDir(cfg.RANKSAFE_DATA_DIR)), 'admin-token');
  if (!fs.existsSync(file)) {
    try {
      fs.writeFileSync(file, randomBytes(24).toString('hex'), { mode: 0o600, flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  return fs.readFileSync(file, 'utf8').trim();
}

/** Where the components are: from the running stack's state, else from the configuration. */
export function expectedTopology(cfg: StackEnv): StackState {
  const running = readStackState(cfg);
  if (running) return running;
  const endpoints: StackEndpoints = {
    host: cfg.RANKSAFE_HOST,
    databaseUrl: cfg.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/ranksafe',
    temporalAddress: cfg.TEMPORAL_ADDRESS ?? `${cfg.RANKSAFE_HOST}:${cfg.TEMPORAL_PORT}`,
    adminToken: '',
  };
  return {
    supervisorPid: 0,
    startedAtUnixMs: 0,
    postgresMode: 'unknown',
    databaseUrl: endpoints.databaseUrl,
    temporalAddress: endpoints.temporalAddress,
    temporalNamespace: cfg.TEMPORAL_NAMESPACE,
    temporalTaskQueue: cfg.TEMPORAL_TASK_QUEUE,
    temporalUiUrl: cfg.TEMPORAL_ADDRESS ? undefined : `http://${cfg.RANKSAFE_HOST}:${cfg.TEMPORAL_UI_PORT}`,
    platformAddress: platformAddressOf(cfg),
    components: stackComponents(cfg, endpoints).map(({ app, instance, grpcAddress, metricsPort, onDemand }) => ({
      app,
      instance,
      grpcAddress,
      metricsPort,
      ...(onDemand ? { onDemand } : {}),
    })),
  };
}
