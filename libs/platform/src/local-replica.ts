import type { Pool } from 'pg';
import { listPlatformEvents, recordPlatformEvent } from '@ranksafe/db';
import type { LocalProcessPlatform } from './local-process';
import {
  DEFAULT_GRACE_MS,
  PlatformError,
  type EventQuery,
  type LifecycleEvent,
  type PlatformEventInfo,
  type ProcessInfo,
  type ReplicaInfo,
  type ReplicaPlatform,
  type RestartOptions,
} from './platform';

/** Where lifecycle events are read from (Postgres platform_events in the stack). */
export type EventSource = (query: EventQuery & { limit: number }) => Promise<LifecycleEvent[]>;

/**
 * Record the supervisor's events in platform_events one after the other, so that their order in
 * the table (and in ListEvents) is the order they happened in; a failed write is reported, not thrown.
 */
export function postgresEventRecorder(pool: Pool, onError: (e: Error) => void = () => undefined): (e: PlatformEventInfo) => void {
  let chain = Promise.resolve();
  return (e) => {
    chain = chain
      .then(() => recordPlatformEvent(pool, { component: e.component, instance: e.name, event: e.event, detail: e.detail }))
      .catch((err: Error) => onError(err));
  };
}

/** Events from the platform_events table (libs/db), where the supervisor records them. */
export const postgresEventSource =
  (pool: Pool): EventSource =>
  (q) =>
    listPlatformEvents(pool, q);

/**
 * The ReplicaPlatform port over the local supervisor's process table: what `npm start` serves as
 * ranksafe.v1.Platform. Only instances this supervisor started or registered are known (anything else is
 * 'not_found'); Start of a running instance returns it unchanged (idempotent, so an activity may
 * retry it).
 */
export class LocalReplicaPlatform implements ReplicaPlatform {
  constructor(
    private readonly local: LocalProcessPlatform,
    private readonly eventSource: EventSource = async () => {
      throw new PlatformError('unavailable', 'no event store is configured');
    },
  ) {}

  async list(filter: { component?: string } = {}): Promise<ReplicaInfo[]> {
    return this.local
      .list()
      .filter((p) => !filter.component || p.component === filter.component)
      .map(toReplica);
  }

  async get(name: string): Promise<ReplicaInfo> {
    if (!name) throw new PlatformError('invalid_argument', 'name: must not be empty', 'name');
    const p = this.local.get(name);
    if (!p) throw new PlatformError('not_found', `no instance named ${JSON.stringify(name)} was started or registered by this platform`);
    return toReplica(p);
  }

  async start(name: string): Promise<ReplicaInfo> {
    return toReplica(await this.local.startKnown(name));
  }

  async stop(name: string, opts: { graceMs?: number } = {}): Promise<ReplicaInfo> {
    return toReplica(await this.local.stop(name, opts.graceMs ?? DEFAULT_GRACE_MS));
  }

  async kill(name: string, signal = 'SIGKILL', opts: { restartAfterMs?: number } = {}): Promise<ReplicaInfo> {
    return toReplica(await this.local.kill(name, signal as NodeJS.Signals, opts));
  }

  async restart(name: string, opts: RestartOptions = {}): Promise<ReplicaInfo> {
    return toReplica(await this.local.restart(name, opts.graceMs ?? DEFAULT_GRACE_MS, { env: opts.env, resetEnv: opts.resetEnv }));
  }

  async events(query: EventQuery = {}): Promise<LifecycleEvent[]> {
    const limit = query.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new PlatformError('invalid_argument', 'limit: must be in 1..1000', 'limit');
    if (query.since && Number.isNaN(query.since.getTime())) throw new PlatformError('invalid_argument', 'since: not a valid time', 'since');
    return this.eventSource({ ...query, limit });
  }
}

function toReplica(p: ProcessInfo): ReplicaInfo {
  const { logFile: _logFile, ...rest } = p;
  return rest;
}
