import { Context } from '@temporalio/activity';

/** Heartbeat every `ms` while `work` runs, so a long registry call is not mistaken for a dead worker (heartbeats also deliver cancellation). */
export async function withHeartbeat<T>(work: Promise<T>, ms = 2_000, details?: unknown): Promise<T> {
  const ctx = Context.current();
  const t = setInterval(() => ctx.heartbeat(details), ms);
  try {
    return await work;
  } finally {
    clearInterval(t);
  }
}
