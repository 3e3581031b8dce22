// How a drill's figures read in a sentence, a table or a chart label: one place, so the score's
// details, the report and the ops CLI say "2.1 s" and "1.25%" the same way. Pure (workflow-safe).

/** 850 → "850 ms", 2130 → "2.1 s", 15000 → "15 s", 125000 → "2 min 5 s"; "—" when not a number. */
export function formatMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '—';
  const sign = ms < 0 ? '-' : '';
  const a = Math.abs(ms);
  if (a < 1000) return `${sign}${Math.round(a)} ms`;
  if (a < 60_000) return `${sign}${trim(a / 1000, 1)} s`;
  const s = Math.round(a / 1000);
  return `${sign}${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
}

/** 0 → "0%", 0.0125 → "1.25%", 0.05 → "5%", 1/3 → "33.33%"; "—" when not a number. */
export function formatShare(share: number | undefined): string {
  if (share === undefined || !Number.isFinite(share)) return '—';
  return `${trim(share * 100, 2)}%`;
}

/** A time on the drill's clock relative to an origin (injection): "+2.1 s", "-6 s", "+0 s". */
export function formatOffset(atUnixMs: number, originUnixMs: number): string {
  const d = atUnixMs - originUnixMs;
  const s = trim(d / 1000, 1);
  return d < 0 ? `${s} s` : `+${s} s`;
}

/** A number with at most `digits` decimals, trailing zeros dropped (no "-0"). */
export function trim(n: number, digits: number): string {
  const f = 10 ** digits;
  const r = Math.round(n * f) / f;
  return String(r === 0 ? 0 : r);
}
