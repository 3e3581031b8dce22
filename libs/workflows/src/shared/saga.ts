// Compensations for a saga (temporalio/samples-typescript saga/): each completed step registers
// how to undo itself; on failure they run in reverse order inside a non-cancellable scope, so a
// cancel from the UI cannot leave a half-undone system.
import { CancellationScope, log } from '@temporalio/workflow';

export interface CompensationResult {
  step: string;
  ok: boolean;
  error?: string;
}

export class Compensations {
  private readonly stack: Array<{ step: string; undo: () => Promise<void> }> = [];

  /** Register the undo of a step that has completed. */
  add(step: string, undo: () => Promise<void>): void {
    this.stack.push({ step, undo });
  }

  get size(): number {
    return this.stack.length;
  }

  /** Run every registered undo, newest first; one failing does not stop the others. */
  async run(): Promise<CompensationResult[]> {
    const results: CompensationResult[] = [];
    await CancellationScope.nonCancellable(async () => {
      while (this.stack.length) {
        const { step, undo } = this.stack.pop()!;
        try {
          await undo();
          results.push({ step, ok: true });
        } catch (e) {
          const error = e instanceof Error ? e.message : String(e);
          log.error('compensation failed', { step, error });
          results.push({ step, ok: false, error });
        }
      }
    });
    return results;
  }
}
