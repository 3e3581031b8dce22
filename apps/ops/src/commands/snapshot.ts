// `ops snapshot …`: consistent backups of the registry (tables + referenced artifacts),
// verification by a real restore into a scratch database, restore, and the RPO.
import type { Command } from 'commander';
import type { StackEnv } from '@ranksafe/platform';
import type { Snapshot } from '@ranksafe/proto';
import type { RegistryClient } from '@ranksafe/registry-client';
import { addSnapshotScheduleCommands } from './operations';
import { fields, fmtAge, fmtBytes, fmtTime, run, table, withRegistry, type LoadEnv } from '../cli';

const TABLE_SHORT: Record<string, string> = { model_versions: 'versions', model_aliases: 'aliases', model_alias_history: 'history', registry_audit: 'audit' };

/** The RPO line of `ops snapshot list` (rpoMs as ListSnapshots answers it: -1 = none verified). */
export function rpoLine(snapshots: ReadonlyArray<Pick<Snapshot, 'id' | 'status' | 'createdAtUnixMs'>>, rpoMs: number): string {
  const newest = snapshots
    .filter((s) => s.status === 'verified')
    .reduce<(typeof snapshots)[number] | undefined>((a, s) => (!a || s.createdAtUnixMs > a.createdAtUnixMs ? s : a), undefined);
  if (!newest || rpoMs < 0) return 'RPO: no verified snapshot';
  return `RPO: ${fmtAge(rpoMs)} (newest verified ${newest.id})`;
}

function describeSnapshot(s: Snapshot, rowCounts?: Record<string, number>): string {
  return fields([
    ['id', s.id],
    ['label', s.label || '-'],
    ['created', fmtTime(s.createdAtUnixMs)],
    ['status', s.status],
    ['verified', fmtTime(s.verifiedAtUnixMs)],
    ['rows', rowsSummary(s.rows, rowCounts)],
    ['artifacts', String(s.artifacts)],
    ['bytes', `${s.bytes} (${fmtBytes(s.bytes)})`],
  ]);
}

function rowsSummary(total: number, counts?: Record<string, number>): string {
  if (!counts) return String(total);
  const order = Object.keys(TABLE_SHORT);
  const rank = (t: string) => (order.includes(t) ? order.indexOf(t) : order.length);
  return `${total} (${Object.entries(counts)
    .sort(([a], [b]) => rank(a) - rank(b))
    .map(([t, n]) => `${TABLE_SHORT[t] ?? t} ${n}`)
    .join(', ')})`;
}

/**
 * Rows per table of each snapshot, from the create_snapshot audit entries (Snapshot carries
 * only the total). Best effort: entries a restore rolled back, or beyond the newest 1000 audit
 * rows since the oldest snapshot, are missing and the total is shown instead.
 */
async function rowCountsFromAudit(registry: RegistryClient, snapshots: Snapshot[]): Promise<Map<string, Record<string, number>>> {
  const out = new Map<string, Record<string, number>>();
  if (!snapshots.length) return out;
  const since = Math.min(...snapshots.map((x) => x.createdAtUnixMs));
  const entries = await registry.listAudit({ since, limit: 1000 }).catch(() => []);
  for (const e of entries) {
    if (e.action !== 'create_snapshot' || !e.subject.startsWith('snapshot:')) continue;
    try {
      const rows = (JSON.parse(e.detailJson) as { rows?: Record<string, number> }).rows;
      if (rows && typeof rows === 'object') out.set(e.subject.slice('snapshot:'.length), rows);
    } catch {
      /* not ours to judge: fall back to the total */
    }
  }
  return out;
}

export async function snapshotCreateCommand(cfg: StackEnv, o: { label?: string }): Promise<string> {
  return withRegistry(cfg, async (registry) => {
    process.stderr.write('taking a snapshot (tables + referenced artifacts) ...\n');
    const snap = await registry.createSnapshot(o.label ?? '');
    const counts = (await rowCountsFromAudit(registry, [snap])).get(snap.id);
    return `created (not verified yet: ops snapshot verify ${snap.id})\n${describeSnapshot(snap, counts)}`;
  });
}

export async function snapshotVerifyCommand(cfg: StackEnv, id: string): Promise<string> {
  return withRegistry(cfg, async (registry) => {
    process.stderr.write(`verifying ${id} (restore into a scratch database, re-hash the artifacts) ...\n`);
    const snap = await registry.verifySnapshot(id);
    if (snap.status !== 'verified')
      throw new Error(`snapshot ${id} ${snap.status.startsWith('failed') ? snap.status.replace(/^failed: /, 'failed verification: ') : `is ${snap.status}`}`);
    return `verified\n${describeSnapshot(snap, (await rowCountsFromAudit(registry, [snap])).get(snap.id))}`;
  });
}

export async function snapshotRestoreCommand(cfg: StackEnv, id: string, o: { yes?: boolean }): Promise<string> {
  return withRegistry(cfg, async (registry) => {
    if (!o.yes) {
      // Say what would be replaced, by what (best effort: the refusal does not depend on it).
      const found = await registry.listSnapshots().then(
        (r) => r.snapshots.find((x) => x.id === id),
        () => undefined,
      );
      const what = found
        ? `snapshot ${id}${found.label ? ` "${found.label}"` : ''} taken ${fmtTime(found.createdAtUnixMs)} (${found.status})`
        : `snapshot ${id}`;
      throw new Error(
        `refusing to restore without --yes: restore replaces every model version, alias, alias history entry and audit entry of the live registry ` +
          `with those of ${what}; everything registered, moved or deleted since is lost (artifacts missing from the live store are copied back; ` +
          `an unverified snapshot is verified first, a failed one is refused). Take a snapshot first (ops snapshot create) to be able to undo it.`,
      );
    }
    process.stderr.write(`restoring ${id} ...\n`);
    const snap = await registry.restoreSnapshot(id);
    return `restored the registry to ${snap.id}${snap.label ? ` "${snap.label}"` : ''} as of ${fmtTime(snap.createdAtUnixMs)}\n${describeSnapshot(snap, (await rowCountsFromAudit(registry, [snap])).get(snap.id))}`;
  });
}

export async function snapshotListCommand(cfg: StackEnv): Promise<string> {
  return withRegistry(cfg, async (registry) => {
    const r = await registry.listSnapshots();
    const snaps = [...r.snapshots].sort((a, b) => b.createdAtUnixMs - a.createdAtUnixMs || (a.id < b.id ? 1 : -1));
    if (!snaps.length) return `no snapshots\n${rpoLine(snaps, r.rpoMs)}`;
    const counts = await rowCountsFromAudit(registry, snaps);
    const status = (st: string) => (st.length > 60 ? `${st.slice(0, 59)}…` : st);
    return [
      table(
        ['ID', 'LABEL', 'CREATED', 'STATUS', 'ROWS', 'ARTIFACTS', 'BYTES'],
        snaps.map((x) => [
          x.id,
          x.label || '-',
          fmtTime(x.createdAtUnixMs),
          status(x.status),
          rowsSummary(x.rows, counts.get(x.id)),
          String(x.artifacts),
          fmtBytes(x.bytes),
        ]),
      ),
      rpoLine(snaps, r.rpoMs),
    ].join('\n');
  });
}

/** Register `ops snapshot …` on the program. */
export function addSnapshotCommands(program: Command, loadEnv: LoadEnv): void {
  const snapshot = program.command('snapshot').description('registry snapshots (backups): create, verify, restore, list with the RPO');
  snapshot
    .command('create')
    .description('take a consistent snapshot of the registry tables and copy the artifacts they reference')
    .option('--label <text>', 'a note to find it by')
    .action(run((o: { label?: string }) => snapshotCreateCommand(loadEnv(), o)));
  snapshot
    .command('verify <id>')
    .description('prove a snapshot restores: load it into a scratch database and re-hash its artifacts (exit 1 when it fails)')
    .action(run((id: string) => snapshotVerifyCommand(loadEnv(), id)));
  snapshot
    .command('restore <id>')
    .description('replace the live registry (versions, aliases, history, audit) with a snapshot; needs --yes')
    .option('--yes', 'really replace the live registry')
    .action(run((id: string, o: { yes?: boolean }) => snapshotRestoreCommand(loadEnv(), id, o)));
  snapshot
    .command('list')
    .description('snapshots, newest first, and the RPO (age of the newest verified snapshot)')
    .action(run(() => snapshotListCommand(loadEnv())));
  addSnapshotScheduleCommands(snapshot, loadEnv);
}
