import type { Pool } from 'pg';

export type PlatformEventKind = 'starting' | 'ready' | 'exited' | 'stopping' | 'stopped' | 'killed' | 'failed';

export interface PlatformEvent {
  at: Date;
  component: string;
  instance: string;
  event: PlatformEventKind;
  detail: Record<string, unknown>;
}

/** Append one lifecycle event of a supervised component. */
export async function recordPlatformEvent(pool: Pool, e: Omit<PlatformEvent, 'at' | 'detail'> & { detail?: Record<string, unknown> }): Promise<void> {
  await pool.query('INSERT INTO platform_events (component, instance, event, detail) VALUES ($1, $2, $3, $4)', [
    e.component,
    e.instance,
    e.event,
    JSON.stringify(e.detail ?? {}),
  ]);
}

/** The newest events first, optionally for one instance and from a time on. */
export async function listPlatformEvents(pool: Pool, opts: { instance?: string; limit?: number; since?: Date } = {}): Promise<PlatformEvent[]> {
  const limit = Math.min(Math.max(opts.limit ?? 50, 1), 1000);
  const r = await pool.query(
    `SELECT at, component, instance, event, detail FROM platform_events
      WHERE ($1::text IS NULL OR instance = $1) AND ($3::timestamptz IS NULL OR at >= $3) ORDER BY at DESC, id DESC LIMIT $2`,
    [opts.instance ?? null, limit, opts.since ?? null],
  );
  return r.rows as PlatformEvent[];
}
