// The drills' load agent: runs the load a drill asked for in drill_load (open-loop Search +
// Recommend through the gateway at the profile's rate) and writes every request to drill_requests,
// so what clients saw during a drill is in Postgres whatever happens to the drill-worker or to
// Temporal. One load at a time; an agent restarted mid-drill takes its running load up again.
import type { Pool } from 'pg';
import {
  heartbeatLoad,
  insertDrillRequests,
  markLoadRunning,
  nextLoad,
  stopLoad,
  type DrillLoad,
  type DrillLoadProfile,
  type DrillLoadState,
  type DrillRequestRecord,
  type DrillRpc,
} from '@ranksafe/db';
import { loadSchema } from '@ranksafe/drills';
import { openLoop, type LoadSummary } from '@ranksafe/loadgen';
import type { Sender } from './gateway';

/** The agent's view of drill_load / drill_requests (pgLoadStore in the process; a fake in unit tests). */
export interface LoadStore {
  nextLoad(): Promise<DrillLoad | undefined>;
  markRunning(runId: string, agent: { pid: number; instance: string }): Promise<boolean>;
  heartbeat(runId: string): Promise<{ state: DrillLoadState; deadlineAt: Date; expired: boolean } | undefined>;
  insert(runId: string, records: DrillRequestRecord[]): Promise<void>;
  stop(runId: string): Promise<void>;
}

export const pgLoadStore = (pool: Pool): LoadStore => ({
  nextLoad: () => nextLoad(pool),
  markRunning: (runId, agent) => markLoadRunning(pool, runId, agent),
  heartbeat: (runId) => heartbeatLoad(pool, runId),
  insert: (runId, records) => insertDrillRequests(pool, runId, records),
  stop: (runId) => stopLoad(pool, runId),
});

export interface AgentLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface LoadAgentOptions {
  store: LoadStore;
  send: Sender;
  /** Who runs the load, written into drill_load.agent. */
  agent: { pid: number; instance: string };
  /** Idle: look for load this often. Running: heartbeat (and re-read the row) this often. */
  pollMs: number;
  /** Write buffered requests this often. */
  flushMs: number;
  maxInFlight?: number;
  log?: AgentLogger;
  /** Each request as recorded (metrics). */
  onRecord?: (runId: string, r: DrillRequestRecord) => void;
  /** The load being run changed (undefined: idle). */
  onLoad?: (runId: string | undefined) => void;
}

/** Why a load's run ended. */
export type LoadEnd = 'stopped' | 'expired' | 'gone' | 'shutdown' | 'invalid';

/** Most records kept while Postgres cannot take them (then the oldest are dropped and counted). */
export const MAX_BUFFERED = 200_000;

const quiet: AgentLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * Which rpc request i is: Search for a `searchShare` of requests, spread evenly (i is Search when
 * floor((i + 1) * share) passes an integer), the rest Recommend. Deterministic, so the share is
 * exact over any window of requests, not only on average.
 */
export function rpcOf(i: number, searchShare: number): DrillRpc {
  return Math.floor((i + 1) * searchShare) > Math.floor(i * searchShare) ? 'search' : 'recommend';
}

export class LoadAgent {
  private stopping = false;
  private wake: (() => void) | undefined;
  private endCurrent: ((why: LoadEnd) => void) | undefined;
  private readonly log: AgentLogger;
  private running: Promise<void> | undefined;
  /** Requests recorded but not written (the current load's). */
  private buffer: DrillRequestRecord[] = [];
  private lost = 0;
  /** The last runs of this agent, newest last (tests, logs). */
  readonly runs: Array<{ runId: string; end: LoadEnd; summary?: LoadSummary }> = [];

  constructor(private readonly opts: LoadAgentOptions) {
    this.log = opts.log ?? quiet;
  }

  /** Run until stop(): wait for load, run it, wait for the next. */
  start(): Promise<void> {
    this.running ??= this.loop();
    return this.running;
  }

  /** Stop sending, write what was recorded, and resolve once the loop has ended. The load's row is left as it is (another agent takes it up). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    this.endCurrent?.('shutdown');
    await this.running;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopping) return resolve();
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      let load: DrillLoad | undefined;
      try {
        load = await this.opts.store.nextLoad();
      } catch (e) {
        this.log.warn({ error: (e as Error).message }, 'cannot read drill_load; retrying');
      }
      if (!load) {
        await this.sleep(this.opts.pollMs);
        continue;
      }
      let taken = false;
      try {
        taken = await this.opts.store.markRunning(load.runId, this.opts.agent);
      } catch (e) {
        this.log.warn({ runId: load.runId, error: (e as Error).message }, 'cannot take the load; retrying');
      }
      if (!taken) {
        await this.sleep(this.opts.pollMs);
        continue;
      }
      try {
        await this.runLoad(load);
      } catch (e) {
        this.endCurrent = undefined;
        this.opts.onLoad?.(undefined);
        this.log.error({ runId: load.runId, error: (e as Error).stack ?? String(e) }, 'load failed; waiting for the next');
        await this.sleep(this.opts.pollMs);
      }
    }
  }

  private async runLoad(load: DrillLoad): Promise<void> {
    const { runId } = load;
    if (this.stopping) return; // taken just as the agent was told to stop: left running for the next agent
    const parsed = loadSchema.safeParse(load.profile);
    if (!parsed.success) {
      this.log.error(
        { runId, profile: load.profile, problems: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) },
        'invalid load profile; stopping it',
      );
      await this.opts.store.stop(runId).catch(() => undefined);
      this.remember({ runId, end: 'invalid' });
      return;
    }
    const profile: DrillLoadProfile = parsed.data;
    this.log.info({ runId, profile, deadlineAt: load.deadlineAt.toISOString() }, 'load started');
    this.opts.onLoad?.(runId);
    let deadlineAt = load.deadlineAt.getTime();
    let ended: LoadEnd | undefined;
    let endNow!: (why: LoadEnd) => void;
    const end = new Promise<LoadEnd>((resolve) => (endNow = resolve));
    const finish = (why: LoadEnd) => {
      if (ended) return;
      ended = why;
      endNow(why);
    };
    this.endCurrent = finish;

    const run = openLoop({
      ratePerSec: profile.ratePerSec,
      maxInFlight: this.opts.maxInFlight,
      request: (i) => this.opts.send(rpcOf(i, profile.searchShare), { deadlineMs: profile.deadlineMs, requestId: `drill-load-${runId}-${i}` }),
      classify: (r) => ({ degraded: r.degraded }),
      onRecord: (r) => {
        const rec: DrillRequestRecord = { at: r.at, rpc: rpcOf(r.i, profile.searchShare), latencyMs: r.latencyMs, status: r.status, degraded: r.degraded };
        this.buffer.push(rec); // bounded by flush()
        this.opts.onRecord?.(runId, rec);
      },
    });

    // Write what was recorded every flushMs; heartbeat every pollMs and end on stop, TTL or a gone row.
    let flushing: Promise<void> = Promise.resolve();
    const flush = () => (flushing = flushing.then(() => this.flush(runId)));
    const flushTimer = setInterval(() => void flush(), this.opts.flushMs);
    let beating = false;
    const beat = async () => {
      if (beating || ended) return;
      beating = true;
      try {
        const hb = await this.opts.store.heartbeat(runId);
        if (!hb) return finish('gone');
        deadlineAt = hb.deadlineAt.getTime();
        if (hb.state === 'stopped') return finish('stopped');
        if (hb.expired) return finish('expired');
      } catch (e) {
        this.log.warn({ runId, error: (e as Error).message }, 'heartbeat failed');
      } finally {
        beating = false;
      }
      // The TTL holds even while Postgres is unreachable: past the last deadline seen, stop.
      if (Date.now() >= deadlineAt) finish('expired');
    };
    const beatTimer = setInterval(() => void beat(), this.opts.pollMs);

    const why = await end;
    this.endCurrent = undefined;
    clearInterval(beatTimer);
    run.stop();
    const summary = await run.done;
    clearInterval(flushTimer);
    await flushing;
    // The last records: a few tries, then they are reported lost.
    for (let attempt = 0; attempt < 5 && this.buffer.length; attempt++) {
      if (attempt) await new Promise((r) => setTimeout(r, 200 * attempt));
      await this.flush(runId);
    }
    if (this.buffer.length) {
      this.lost += this.buffer.length;
      this.buffer = [];
    }
    if (why === 'expired') {
      // Nobody stopped it before its deadline (the drill that owned it is gone): say so in the row.
      await this.opts.store.stop(runId).catch((e: Error) => this.log.warn({ runId, error: e.message }, 'cannot mark the expired load stopped'));
    }
    const failed = Object.entries(summary.failed).map(([k, n]) => `${k} ${n}`);
    this.log.info(
      {
        runId,
        end: why,
        scheduled: summary.scheduled,
        sent: summary.sent,
        ok: summary.ok,
        degraded: summary.degraded,
        dropped: summary.dropped,
        failed,
        lostRecords: this.lost,
      },
      'load ended',
    );
    if (this.lost) this.log.error({ runId, lostRecords: this.lost }, 'requests that could not be written to drill_requests');
    this.lost = 0;
    this.remember({ runId, end: why, summary });
    this.opts.onLoad?.(undefined);
  }

  private remember(run: LoadAgent['runs'][number]): void {
    this.runs.push(run);
    if (this.runs.length > 20) this.runs.shift();
  }

  /** Write the buffered records; on failure they stay buffered (in order) for the next try. */
  private async flush(runId: string): Promise<void> {
    if (!this.buffer.length) return;
    const batch = this.buffer;
    this.buffer = [];
    try {
      await this.opts.store.insert(runId, batch);
    } catch (e) {
      this.buffer = batch.concat(this.buffer);
      if (this.buffer.length > MAX_BUFFERED) {
        this.lost += this.buffer.length - MAX_BUFFERED;
        this.buffer.splice(0, this.buffer.length - MAX_BUFFERED);
      }
      this.log.warn({ runId, error: (e as Error).message, buffered: this.buffer.length }, 'cannot write requests; keeping them for the next flush');
    }
  }
}
