// What the commands that follow a running workflow share (rollout, drill): bounded waits and a
// status query with a deadline on the call itself.
import type { WorkflowHandle } from '@temporalio/client';
import type { QueryDefinition } from '@temporalio/common';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** `p`, or a rejection after `ms`; the timer never outlives it (a CLI must exit as soon as it is done). */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms)));
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * A query with a deadline on the call itself: a run no worker serves does not answer, and an
 * abandoned query would go on retrying after the connection closed.
 */
export function queryWithDeadline<T>(h: WorkflowHandle, query: QueryDefinition<T>, ms: number): Promise<T> {
  return h.client
    .withDeadline(Date.now() + ms, () => h.query(query))
    .catch((e: Error) => {
      throw new Error(/deadline/i.test(e.message) ? `no answer in ${ms} ms` : e.message);
    });
}

/** Whether `p` settled within `ms` (its timer cleared either way). */
export const settlesWithin = (p: Promise<unknown>, ms: number) =>
  withTimeout(
    p.then(() => true),
    ms,
  ).catch(() => false);
