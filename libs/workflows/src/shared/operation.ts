// The step log every operation keeps: each step is recorded in Postgres (started, completed or
// failed, with its time on the workflow's clock) through local activities, and kept in memory for
// the `status` query and the memo. Recording never fails the operation, and a cancel does not stop it.
import { CancellationScope, log, proxyLocalActivities, setCurrentDetails, upsertMemo, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '@ranksafe/activities';
import { errorMessage } from './errors';

const { recordStep, recordOperation } = proxyLocalActivities<Pick<Activities, 'recordStep' | 'recordOperation'>>({
  startToCloseTimeout: '5 seconds',
  retry: { maximumAttempts: 3, initialInterval: '100 milliseconds' },
});

/** As the operations log stores them (libs/db operations.ts; kept in step by its CHECK constraints). */
export type OperationKind = 'rollout' | 'recovery' | 'snapshot' | 'monitor' | 'drill';
export type StepState = 'started' | 'completed' | 'failed' | 'compensated' | 'compensation_failed' | 'skipped';

export interface TimelineEntry {
  seq: number;
  step: string;
  state: StepState;
  atUnixMs: number;
  durationMs?: number;
  detail?: Record<string, unknown>;
}

export class OperationLog {
  private seq = 0;
  readonly timeline: TimelineEntry[] = [];
  readonly startedAtUnixMs = Date.now();

  constructor(
    readonly kind: OperationKind,
    readonly target: string,
  ) {}

  /** Record the operation itself (call at start and whenever its state changes). */
  async operation(state: string, detail: Record<string, unknown> = {}, ended = false): Promise<void> {
    const { workflowId, runId } = workflowInfo();
    await CancellationScope.nonCancellable(() =>
      recordOperation({
        workflowId,
        runId,
        kind: this.kind,
        target: this.target,
        state,
        startedAtUnixMs: this.startedAtUnixMs,
        endedAtUnixMs: ended ? Date.now() : undefined,
        detail,
      }),
    ).catch((e) => log.warn('could not record operation', { error: errorMessage(e) }));
  }

  /** Run one step, recording it as started and then completed or failed. */
  async step<T>(step: string, fn: () => Promise<T>, describe?: (r: T) => Record<string, unknown>): Promise<T> {
    const seq = ++this.seq;
    const t0 = Date.now();
    await this.write(seq, step, 'started', t0);
    setCurrentDetails(`${this.kind} ${this.target}: ${step} …`);
    try {
      const r = await fn();
      await this.write(seq, step, 'completed', Date.now(), describe?.(r), Date.now() - t0);
      return r;
    } catch (e) {
      await this.write(seq, step, 'failed', Date.now(), { error: errorMessage(e) }, Date.now() - t0);
      throw e;
    }
  }

  /** Record something that happened without running it here (a compensation, a skip). */
  async note(step: string, state: StepState, detail?: Record<string, unknown>): Promise<void> {
    await this.write(++this.seq, step, state, Date.now(), detail);
  }

  /** The memo and current details a person reads in the Temporal UI. */
  summarize(summary: string): void {
    upsertMemo({ summary, steps: this.timeline.map((t) => `${t.seq}. ${t.step} ${t.state}${t.durationMs !== undefined ? ` (${t.durationMs} ms)` : ''}`) });
    setCurrentDetails(summary);
  }

  private async write(seq: number, step: string, state: StepState, atUnixMs: number, detail?: Record<string, unknown>, durationMs?: number) {
    this.timeline.push({ seq, step, state, atUnixMs, durationMs, detail });
    const { workflowId, runId } = workflowInfo();
    // Non-cancellable: the log is written whatever happens, a cancel from the UI included (a local
    // activity scheduled in a cancelled scope could otherwise hang the workflow on the test server).
    await CancellationScope.nonCancellable(() =>
      recordStep({ workflowId, runId, seq, step, state, atUnixMs, detail: { ...detail, ...(durationMs !== undefined ? { durationMs } : {}) } }),
    ).catch((e) => log.warn('could not record step', { step, state, error: errorMessage(e) }));
  }
}
