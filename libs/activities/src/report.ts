// The drill report: a run's DrillResult as Markdown (a short summary, also the workflow's memo), as
// one self-contained HTML page (opens offline: inline CSS, a hand-drawn SVG timeline, no script, no
// external URL) and as JSON. The renderers are pure functions of the result, deterministic (no clock:
// every time printed comes from the result); only writeDrillReport touches the filesystem.
//
// Every string taken from the result is escaped (HTML: & < > " '; Markdown: its punctuation), so a
// reason or a step detail that holds markup shows as text.
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { atomicWriteFile } from '@ranksafe/artifact-integrity';
import { formatMs, formatOffset, formatShare, trim, type DrillMarks, type DrillResult, type DrillStep, type PhaseFigures } from '@ranksafe/drills';

// ---------------------------------------------------------------------------------------------
// Shared

/** The marks the chart draws, in the order of the drill. `key` is the marker's data-mark. */
export const REPORT_MARKS = [
  { key: 'injected', field: 'injectedAtUnixMs', label: 'injected', color: '#b91c1c' },
  { key: 'injection-proven', field: 'injectionProvenAtUnixMs', label: 'injection proven', color: '#7f1d1d' },
  { key: 'detected', field: 'detectedAtUnixMs', label: 'detected', color: '#c2410c' },
  { key: 'recovered', field: 'recoveredAtUnixMs', label: 'recovered (steady state)', color: '#15803d' },
  { key: 'reverted', field: 'revertedAtUnixMs', label: 'reverted', color: '#4b5563' },
] as const satisfies ReadonlyArray<{ key: string; field: keyof DrillMarks; label: string; color: string }>;

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The origin of every relative time in the report: the injection, else the start of the load, else the start. */
function originOf(r: DrillResult): { at: number; what: string } {
  const m = r.marks ?? ({} as DrillMarks);
  if (isNum(m.injectedAtUnixMs)) return { at: m.injectedAtUnixMs, what: 'injection' };
  if (isNum(m.loadStartedAtUnixMs)) return { at: m.loadStartedAtUnixMs, what: 'load start' };
  if (isNum(m.startedAtUnixMs)) return { at: m.startedAtUnixMs, what: 'start' };
  const first = (r.series ?? []).find((p) => isNum(p.atUnixMs));
  return { at: first ? first.atUnixMs : 0, what: 'start' };
}

const iso = (ms: number | undefined) => (isNum(ms) ? new Date(ms).toISOString() : '—');
const count = (n: number, share: number) => `${isNum(n) ? n : '—'} (${formatShare(share)})`;
const phaseMs = (p: PhaseFigures | undefined, key: 'p50Ms' | 'p99Ms') => (p && p.ok > 0 ? formatMs(p[key]) : '—');

/** Steps taken by the workflows the drill observed (a Recovery's saga); all the steps when there are none. */
function recoverySteps(steps: DrillStep[]): DrillStep[] {
  const observed = steps.filter((s) => s.source !== 'drill');
  return observed.length ? observed : steps;
}

/** The parts of the score that lost points, for a one-line summary. */
function pointsLost(r: DrillResult): string {
  const lost = (r.score?.parts ?? []).filter((p) => p.weight > 0 && p.value < 1);
  return lost.map((p) => `${p.name} ${trim(p.value, 2)}`).join(', ');
}

// ---------------------------------------------------------------------------------------------
// Markdown

/** Markdown's punctuation escaped and the text kept on one line (a step's name cannot open a list or a table). */
function md(v: unknown): string {
  return String(v)
    .replace(/\s+/g, ' ')
    .replace(/[\\`*_[\]<>|~]/g, (ch) => `\\${ch}`)
    .trim();
}

/** Text in a code span: backticks dropped (a code span cannot escape them). */
function mdCode(v: unknown): string {
  const text = String(v)
    .replace(/[`\s]+/g, ' ')
    .trim();
  return `\`${text}\``;
}

const MD_MAX_STEPS = 8;

/** A short summary of the run (about 25 lines): the verdict, the score, the figures, the recovery steps. */
export function drillReportMarkdown(r: DrillResult): string {
  const f = r.figures;
  const spec = r.spec;
  const origin = originOf(r);
  const lost = pointsLost(r);
  const out: string[] = [];
  out.push(`## Drill ${md(r.title)}: ${md(r.outcome)}, score ${trim(r.score?.value ?? 0, 1)} / 100`);
  out.push(`**${md(r.outcome)}**: ${md(r.reason)}${lost ? ` Points lost on: ${md(lost)}.` : ''}`);
  out.push(`${mdCode(r.workflowId)} · ${md(r.scenario)} · started ${iso(r.marks?.startedAtUnixMs)}`);
  out.push('');
  out.push('| figure | value | target |');
  out.push('|---|---|---|');
  out.push(`| MTTD | ${formatMs(f.mttdMs)} | ≤ ${formatMs(spec.expect.mttdTargetMs)} |`);
  out.push(`| RTO | ${formatMs(f.rtoMs)} | ≤ ${formatMs(spec.expect.rtoTargetMs)} |`);
  out.push(`| RPO | ${formatMs(f.rpoMs)} | |`);
  out.push(`| requests | ${f.requests} | |`);
  out.push(`| failed | ${count(f.failed, f.failedShare)} | ≤ ${formatShare(spec.expect.maxFailedShare)} |`);
  out.push(`| degraded | ${count(f.degraded, f.degradedShare)} | ≤ ${formatShare(spec.steadyState.maxDegradedShare)} |`);
  out.push(`| p50 before / during / after | ${phaseMs(f.before, 'p50Ms')} / ${phaseMs(f.during, 'p50Ms')} / ${phaseMs(f.after, 'p50Ms')} | |`);
  out.push(
    `| p99 before / during / after | ${phaseMs(f.before, 'p99Ms')} / ${phaseMs(f.during, 'p99Ms')} / ${phaseMs(f.after, 'p99Ms')} | ≤ ${formatMs(spec.steadyState.maxP99Ms)} |`,
  );
  const steps = recoverySteps(r.steps ?? []);
  if (steps.length) {
    out.push('');
    out.push(`Recovery steps (time since ${origin.what}):`);
    for (const s of steps.slice(0, MD_MAX_STEPS)) {
      const took = isNum(s.durationMs) ? ` (${formatMs(s.durationMs)})` : '';
      out.push(`- ${isNum(s.atUnixMs) ? formatOffset(s.atUnixMs, origin.at) : '—'} ${md(s.source)} ${md(s.step)}: ${md(s.state)}${took}`);
    }
    if (steps.length > MD_MAX_STEPS) out.push(`- … and ${steps.length - MD_MAX_STEPS} more (see the HTML report)`);
  }
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// HTML

/** HTML-escaped text (also safe inside a quoted attribute). */
export function escapeHtml(v: unknown): string {
  return String(v).replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
}
const e = escapeHtml;

/** A coordinate for an SVG attribute: always a finite number, one decimal. */
const c = (n: number) => (isNum(n) ? String(Math.round(n * 10) / 10) : '0');

/** A top and a step for an axis from 0 to at least `max`, with about `ticks` steps of 1, 2 or 5 × 10^k. */
function niceScale(max: number, ticks: number): { top: number; step: number } {
  if (!(max > 0) || !isNum(max)) return { top: 1, step: 1 / ticks };
  const raw = max / ticks;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw)!;
  return { top: Math.ceil(max / step - 1e-9) * step, step };
}

const X_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600];

// Chart geometry (the SVG's own units; it scales to the page's width).
const W = 960;
const LEFT = 64;
const RIGHT = 20;
const LABEL_ROW = 15;
const LABEL_ROWS = 3;
const LAT_TOP = 12 + LABEL_ROW * LABEL_ROWS;
const LAT_H = 220;
const STEP_Y = LAT_TOP + LAT_H + 17;
const BAR_TOP = LAT_TOP + LAT_H + 36;
const BAR_H = 110;
const AXIS_Y = BAR_TOP + BAR_H;
const H = AXIS_Y + 58;

/** The latency / error timeline: p50 and p99 of answered requests, failed and degraded per second, the drill's marks. */
export function timelineSvg(r: DrillResult): string {
  const origin = originOf(r);
  const series = (r.series ?? []).filter((p) => isNum(p.atUnixMs)).sort((a, b) => a.atUnixMs - b.atUnixMs);
  const sec = (at: number) => (at - origin.at) / 1000;
  const marks = REPORT_MARKS.flatMap((m) => {
    const at = r.marks?.[m.field];
    return isNum(at) ? [{ ...m, at, t: sec(at) }] : [];
  });
  const steps = (r.steps ?? []).filter((s) => isNum(s.atUnixMs));

  // The time axis: the series, every mark and every step, in seconds since the origin.
  const ts = [...series.flatMap((p) => [sec(p.atUnixMs), sec(p.atUnixMs) + 1]), ...marks.map((m) => m.t), ...steps.map((s) => sec(s.atUnixMs))];
  let t0 = ts.length ? Math.min(...ts) : 0;
  let t1 = ts.length ? Math.max(...ts) : 1;
  if (t1 - t0 < 1) [t0, t1] = [t0 - 0.5, t0 + 0.5];
  const plotW = W - LEFT - RIGHT;
  const x = (t: number) => LEFT + ((t - t0) / (t1 - t0)) * plotW;

  const answered = series.filter((p) => p.ok > 0);
  const lat = niceScale(Math.max(0, ...answered.map((p) => Math.max(p.p50Ms, p.p99Ms)).filter(isNum)), 5);
  const yLat = (v: number) => LAT_TOP + LAT_H - (Math.min(v, lat.top) / lat.top) * LAT_H;
  const bars = niceScale(Math.max(0, ...series.map((p) => Math.max(p.sent, p.failed + p.degraded)).filter(isNum)), 2);
  const yBar = (v: number) => AXIS_Y - (Math.min(v, bars.top) / bars.top) * BAR_H;

  const out: string[] = [];
  out.push(
    `<svg id="timeline-chart" class="timeline" viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-labelledby="timeline-title" data-origin="${e(origin.what)}" data-points="${series.length}">`,
  );
  out.push(`<title id="timeline-title">Latency and errors per second, in seconds since ${e(origin.what)}</title>`);

  // The fault window: from the injection to the steady state restored (or the revert, or the end).
  const from = marks.find((m) => m.key === 'injected');
  if (from) {
    const to = marks.find((m) => m.key === 'recovered') ?? marks.find((m) => m.key === 'reverted');
    const end = to ? to.t : t1;
    out.push(`<rect class="fault-window" x="${c(x(from.t))}" y="${LAT_TOP}" width="${c(Math.max(0, x(end) - x(from.t)))}" height="${AXIS_Y - LAT_TOP}"/>`);
  }

  // Hover columns (under everything; the bars and lines let the pointer through): one per second.
  out.push('<g class="columns">');
  for (const p of series) {
    const t = sec(p.atUnixMs);
    const tip =
      `${formatOffset(p.atUnixMs, origin.at)}: sent ${p.sent}, ok ${p.ok}, failed ${p.failed}, degraded ${p.degraded}` +
      (p.ok > 0 ? `, p50 ${formatMs(p.p50Ms)}, p99 ${formatMs(p.p99Ms)}` : '');
    out.push(`<rect x="${c(x(t))}" y="${LAT_TOP}" width="${c(x(t + 1) - x(t))}" height="${AXIS_Y - LAT_TOP}"><title>${e(tip)}</title></rect>`);
  }
  out.push('</g>');

  // Grid and axes.
  out.push('<g class="grid">');
  for (let i = 0; i * lat.step <= lat.top + 1e-9; i++) {
    const v = i * lat.step;
    out.push(`<line x1="${LEFT}" x2="${W - RIGHT}" y1="${c(yLat(v))}" y2="${c(yLat(v))}"/>`);
    out.push(`<text class="tick" x="${LEFT - 6}" y="${c(yLat(v) + 4)}" text-anchor="end">${e(formatMs(v))}</text>`);
  }
  for (let i = 0; i * bars.step <= bars.top + 1e-9; i++) {
    const v = i * bars.step;
    out.push(`<line x1="${LEFT}" x2="${W - RIGHT}" y1="${c(yBar(v))}" y2="${c(yBar(v))}"/>`);
    out.push(`<text class="tick" x="${LEFT - 6}" y="${c(yBar(v) + 4)}" text-anchor="end">${e(trim(v, 2))}</text>`);
  }
  const xStep = X_STEPS.find((s) => (t1 - t0) / s <= 12) ?? 3600;
  for (let i = Math.ceil(t0 / xStep - 1e-9); i * xStep <= t1 + 1e-9; i++) {
    const t = i * xStep;
    out.push(`<line${t === 0 ? ' class="zero"' : ''} x1="${c(x(t))}" x2="${c(x(t))}" y1="${LAT_TOP}" y2="${AXIS_Y}"/>`);
    out.push(`<text class="tick" x="${c(x(t))}" y="${AXIS_Y + 16}" text-anchor="middle">${e(trim(t, 1))}</text>`);
  }
  out.push('</g>');
  out.push(`<text class="axis-title" x="${LEFT + plotW / 2}" y="${AXIS_Y + 34}" text-anchor="middle">seconds since ${e(origin.what)}</text>`);
  out.push(
    `<text class="axis-title" x="14" y="${LAT_TOP + LAT_H / 2}" transform="rotate(-90 14 ${LAT_TOP + LAT_H / 2})" text-anchor="middle">latency (answered)</text>`,
  );
  out.push(
    `<text class="axis-title" x="14" y="${BAR_TOP + BAR_H / 2}" transform="rotate(-90 14 ${BAR_TOP + BAR_H / 2})" text-anchor="middle">requests / s</text>`,
  );

  // Requests per second: sent as a step line, failed and degraded (stacked on failed) as bars.
  let sent = '';
  let prevSent: number | undefined;
  for (const p of series) {
    const t = sec(p.atUnixMs);
    if (!isNum(p.sent)) {
      prevSent = undefined;
      continue;
    }
    sent += `${prevSent !== undefined && t - prevSent <= 1.001 ? 'L' : 'M'}${c(x(t))} ${c(yBar(p.sent))} H${c(x(t + 1))} `;
    prevSent = t;
  }
  out.push(`<path class="line sent" data-series="sent" d="${sent.trim()}"/>`);
  out.push('<g class="bars">');
  for (const p of series) {
    const t = sec(p.atUnixMs);
    const bx = x(t) + 0.5;
    const bw = Math.max(0.5, x(t + 1) - x(t) - 1);
    const bar = (cls: string, lo: number, hi: number) => {
      if (isNum(lo) && isNum(hi) && hi > lo)
        out.push(`<rect class="${cls}" x="${c(bx)}" y="${c(yBar(hi))}" width="${c(bw)}" height="${c(yBar(lo) - yBar(hi))}"/>`);
    };
    bar('failed', 0, p.failed);
    bar('degraded', p.failed, p.failed + p.degraded);
  }
  out.push('</g>');

  // Latency lines: one path each, broken where a second had no answer (or is missing from the series).
  for (const key of ['p50Ms', 'p99Ms'] as const) {
    let d = '';
    let prev: number | undefined;
    for (const p of series) {
      const t = sec(p.atUnixMs);
      if (!(p.ok > 0) || !isNum(p[key])) {
        prev = undefined;
        continue;
      }
      d += `${prev !== undefined && t - prev <= 1.001 ? 'L' : 'M'}${c(x(t + 0.5))} ${c(yLat(p[key]))} `;
      prev = t;
    }
    const name = key === 'p50Ms' ? 'p50' : 'p99';
    out.push(`<path class="line ${name}" data-series="${name}" d="${d.trim()}"/>`);
  }

  // Step ticks, between the panels.
  out.push('<g class="steps">');
  if (steps.length) out.push(`<text class="tick" x="${LEFT - 6}" y="${STEP_Y + 4}" text-anchor="end">steps</text>`);
  steps.forEach((s, i) => {
    const tip = `${formatOffset(s.atUnixMs, origin.at)} ${s.source} · ${s.step}: ${s.state}${isNum(s.durationMs) ? ` (${formatMs(s.durationMs)})` : ''}`;
    const cls = s.source === 'drill' ? 'step drill' : 'step observed';
    out.push(`<circle class="${cls}" data-step="${i}" cx="${c(x(sec(s.atUnixMs)))}" cy="${STEP_Y}" r="3.5"><title>${e(tip)}</title></circle>`);
  });
  out.push('</g>');

  // Marks: a vertical line each, labelled in the band above the plot, rows chosen so labels do not overlap.
  out.push('<g class="marks">');
  const rowEnds: number[] = Array.from({ length: LABEL_ROWS }, () => -Infinity);
  for (const m of [...marks].sort((a, b) => a.t - b.t)) {
    const mx = x(m.t);
    const text = `${m.label} ${formatOffset(m.at, origin.at)}`;
    const width = text.length * 6.2 + 6;
    const anchorEnd = mx + width > W - RIGHT;
    const [lo, hi] = anchorEnd ? [mx - width, mx] : [mx, mx + width];
    let row = rowEnds.findIndex((end) => end < lo);
    if (row < 0) row = rowEnds.indexOf(Math.min(...rowEnds));
    rowEnds[row] = hi;
    const ly = 12 + LABEL_ROW * row + 10;
    out.push(
      `<g class="mark" data-mark="${e(m.key)}" data-at-ms="${c(m.at)}" data-t="${e(trim(m.t, 3))}">` +
        `<line x1="${c(mx)}" x2="${c(mx)}" y1="${c(ly + 3)}" y2="${AXIS_Y}" stroke="${m.color}"/>` +
        `<text x="${c(anchorEnd ? mx - 3 : mx + 3)}" y="${c(ly)}" text-anchor="${anchorEnd ? 'end' : 'start'}" fill="${m.color}">${e(text)}</text>` +
        `<title>${e(`${m.label}: ${iso(m.at)}`)}</title></g>`,
    );
  }
  out.push('</g>');

  // Legend.
  const legend: Array<[string, string]> = [
    ['p50', 'p50 answered'],
    ['p99', 'p99 answered'],
    ['sent', 'sent / s'],
    ['failed', 'failed / s'],
    ['degraded', 'degraded / s'],
  ];
  out.push(`<g class="legend" transform="translate(${LEFT} ${AXIS_Y + 46})">`);
  legend.forEach(([cls, label], i) => {
    const lx = i * 130;
    out.push(
      cls !== 'failed' && cls !== 'degraded'
        ? `<line class="line ${cls}" x1="${lx}" x2="${lx + 18}" y1="0" y2="0"/>`
        : `<rect class="${cls}" x="${lx}" y="-6" width="18" height="10"/>`,
    );
    out.push(`<text x="${lx + 24}" y="4">${e(label)}</text>`);
  });
  out.push('</g>');
  if (!series.length) out.push(`<text class="empty" x="${LEFT + plotW / 2}" y="${LAT_TOP + LAT_H / 2}" text-anchor="middle">no load was sent</text>`);
  out.push('</svg>');
  return out.join('\n');
}

const CSS = `
:root { color-scheme: light; --fg: #111827; --muted: #6b7280; --line: #e5e7eb; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); margin: 0; padding: 24px; max-width: 1040px; margin-inline: auto; }
h1 { font-size: 22px; margin: 0 0 6px; } h2 { font-size: 16px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
header { border-left: 6px solid var(--muted); padding: 8px 16px; background: #f9fafb; }
header.passed { border-color: #16a34a; } header.failed, header.aborted { border-color: #dc2626; } header.dry-run { border-color: #2563eb; }
.verdict { font-size: 18px; margin: 4px 0; } .badge { display: inline-block; padding: 1px 10px; border-radius: 10px; color: #fff; background: var(--muted); font-weight: 600; }
.passed .badge { background: #16a34a; } .failed .badge, .aborted .badge { background: #dc2626; } .dry-run .badge { background: #2563eb; }
.score { font-size: 28px; font-weight: 700; margin-left: 12px; } .meta { color: var(--muted); margin: 6px 0 0; } .meta code { color: var(--fg); }
table { border-collapse: collapse; width: 100%; margin: 4px 0; } th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; background: #f9fafb; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.ok { color: #15803d; font-weight: 700; } td.bad { color: #b91c1c; font-weight: 700; } .detail { color: var(--muted); font-size: 12px; word-break: break-word; }
pre { background: #f9fafb; padding: 8px; overflow: auto; font-size: 12px; } .grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 24px; }
@media (max-width: 800px) { .grid2 { grid-template-columns: 1fr; } body { padding: 12px; } }
svg.timeline { display: block; font-size: 11px; background: #fff; }
svg .grid line { stroke: var(--line); } svg .grid line.zero { stroke: #9ca3af; } svg .tick, svg .axis-title, svg .legend text { fill: var(--muted); }
svg .columns rect { fill: transparent; } svg .columns rect:hover { fill: rgba(37, 99, 235, 0.08); }
svg .fault-window { fill: rgba(220, 38, 38, 0.05); pointer-events: none; }
svg .bars rect, svg path.line { pointer-events: none; } svg .line.sent { stroke: #9ca3af; stroke-width: 1.5; } svg .failed { fill: #dc2626; } svg .degraded { fill: #f59e0b; }
svg .line { fill: none; stroke-width: 2; stroke-linejoin: round; } svg .p50 { stroke: #60a5fa; } svg .p99 { stroke: #1e3a8a; }
svg .mark line { stroke-dasharray: 4 3; stroke-width: 1.5; } svg .mark text { font-weight: 600; }
svg .step { stroke: #fff; stroke-width: 1; } svg .step.drill { fill: #9ca3af; } svg .step.observed { fill: #2563eb; }
svg .empty { fill: var(--muted); font-size: 14px; }
`;

function row(cells: string[], cls: string[] = []): string {
  return `<tr>${cells.map((v, i) => `<td${cls[i] ? ` class="${cls[i]}"` : ''}>${v}</td>`).join('')}</tr>`;
}

function table(head: string[], rows: string[], numeric: number[] = []): string {
  const th = head.map((h, i) => `<th${numeric.includes(i) ? ' class="num"' : ''}>${e(h)}</th>`).join('');
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>`;
}

function detailText(d: Record<string, unknown> | undefined): string {
  if (!d || typeof d !== 'object' || Object.keys(d).length === 0) return '';
  let s: string;
  try {
    s = JSON.stringify(d);
  } catch {
    s = String(d);
  }
  return s.length > 300 ? `${s.slice(0, 299)}…` : s;
}

/** The report as one HTML page that opens offline: header, score, figures, timeline chart, checks, blast radius, steps, spec. */
export function drillReportHtml(r: DrillResult): string {
  const f = r.figures;
  const spec = r.spec;
  const origin = originOf(r);
  const at = (ms: number | undefined) => (isNum(ms) ? e(formatOffset(ms, origin.at)) : '—');
  const outcomeClass = ['passed', 'failed', 'aborted', 'dry-run'].includes(r.outcome) ? r.outcome : 'unknown';
  const m = r.marks ?? ({} as DrillMarks);
  const b = r.blastRadius;
  const h: string[] = [];

  h.push('<!doctype html>');
  h.push('<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">');
  h.push(`<title>${e(`Drill ${r.title}: ${r.outcome}`)}</title>`);
  h.push(`<style>${CSS}</style></head><body>`);

  h.push(`<header class="${outcomeClass}">`);
  h.push(`<h1>${e(r.title)}</h1>`);
  h.push(
    `<p class="verdict"><span class="badge" id="outcome">${e(r.outcome)}</span><span class="score" id="score">${e(trim(r.score?.value ?? 0, 1))}</span> / 100</p>`,
  );
  h.push(`<p class="reason" id="reason">${e(r.reason)}</p>`);
  h.push(
    `<p class="meta"><code>${e(r.workflowId)}</code> · run <code>${e(r.runId)}</code> · scenario <code>${e(r.scenario)}</code>` +
      ` · started ${e(iso(m.startedAtUnixMs))}${isNum(m.endedAtUnixMs) ? ` · ended ${e(iso(m.endedAtUnixMs))}` : ''}` +
      `${isNum(m.endedAtUnixMs) && isNum(m.startedAtUnixMs) ? ` (${e(formatMs(m.endedAtUnixMs - m.startedAtUnixMs))})` : ''}</p>`,
  );
  h.push('</header>');

  // Score.
  h.push('<h2>Resilience score</h2>');
  h.push(
    table(
      ['part', 'weight', 'value', 'points lost', 'why'],
      (r.score?.parts ?? []).map((p) =>
        row(
          [e(p.name), e(trim(p.weight, 3)), e(trim(p.value, 3)), e(trim(100 * p.weight * (1 - p.value), 1)), `<span class="detail">${e(p.detail)}</span>`],
          ['', 'num', 'num', 'num', ''],
        ),
      ),
      [1, 2, 3],
    ),
  );

  // Figures.
  h.push('<h2>Figures</h2><div class="grid2"><div>');
  h.push(
    table(
      ['figure', 'value', 'target'],
      [
        row(['MTTD (injection → detection)', e(formatMs(f.mttdMs)), `≤ ${e(formatMs(spec.expect.mttdTargetMs))}`], ['', 'num', 'num']),
        row(['RTO (injection → steady state)', e(formatMs(f.rtoMs)), `≤ ${e(formatMs(spec.expect.rtoTargetMs))}`], ['', 'num', 'num']),
        row(['RPO', e(formatMs(f.rpoMs)), ''], ['', 'num', 'num']),
        row(['requests', e(f.requests), ''], ['', 'num', 'num']),
        row(['failed', e(count(f.failed, f.failedShare)), `≤ ${e(formatShare(spec.expect.maxFailedShare))}`], ['', 'num', 'num']),
        row(['degraded', e(count(f.degraded, f.degradedShare)), `≤ ${e(formatShare(spec.steadyState.maxDegradedShare))}`], ['', 'num', 'num']),
      ],
      [1, 2],
    ),
  );
  h.push('</div><div>');
  const phases: Array<[string, PhaseFigures | undefined]> = [
    ['before', f.before],
    ['during', f.during],
    ['after', f.after],
  ];
  h.push(
    table(
      ['phase', 'requests', 'ok', 'failed', 'degraded', 'p50', 'p99'],
      phases.map(([name, p]) =>
        row(
          [name, e(p?.requests ?? '—'), e(p?.ok ?? '—'), e(p?.failed ?? '—'), e(p?.degraded ?? '—'), e(phaseMs(p, 'p50Ms')), e(phaseMs(p, 'p99Ms'))],
          ['', 'num', 'num', 'num', 'num', 'num', 'num'],
        ),
      ),
      [1, 2, 3, 4, 5, 6],
    ),
  );
  const statuses = Object.entries(f.byStatus ?? {}).sort((a, b) => b[1] - a[1]);
  if (statuses.length) h.push(`<p class="detail">By status: ${statuses.map(([k, n]) => `${e(k)} ${e(n)}`).join(' · ')}</p>`);
  h.push('</div></div>');

  // Timeline.
  h.push(`<h2>Timeline</h2>`);
  h.push(timelineSvg(r));
  const markRows = REPORT_MARKS.filter((mk) => isNum(m[mk.field])).map((mk) => row([e(mk.label), at(m[mk.field]), e(iso(m[mk.field]))], ['', 'num', '']));
  if (markRows.length) h.push(table(['mark', `since ${origin.what}`, 'at'], markRows, [1]));

  // Checks.
  h.push('<h2>Checks</h2>');
  h.push(
    (r.checks ?? []).length
      ? table(
          ['', 'check', 'detail', 'at'],
          r.checks.map((k) =>
            row([k.ok ? '✓' : '✗', e(k.name), `<span class="detail">${e(k.detail)}</span>`, at(k.atUnixMs)], [k.ok ? 'ok' : 'bad', '', '', 'num']),
          ),
          [3],
        )
      : '<p class="detail">No check was made.</p>',
  );

  // Blast radius.
  h.push('<h2>Blast radius</h2>');
  if (b) {
    h.push(
      table(
        ['tier', 'instances', 'replicas before', 'capacity taken', 'fault'],
        [row([e(b.tier), e((b.instances ?? []).join(', ') || '—'), e(b.replicas), e(formatShare(b.capacityShare)), e(b.fault)], ['', '', 'num', 'num', ''])],
        [2, 3],
      ),
    );
    if ((b.reverts ?? []).length) h.push(`<p>Reverted by the cleanup, in order:</p><ol>${b.reverts.map((x) => `<li>${e(x)}</li>`).join('')}</ol>`);
  }

  // Steps.
  h.push('<h2>Steps</h2>');
  h.push(
    (r.steps ?? []).length
      ? table(
          [`since ${origin.what}`, 'source', 'step', 'state', 'took', 'detail'],
          r.steps.map((s) =>
            row(
              [
                at(s.atUnixMs),
                e(s.source),
                e(s.step),
                e(s.state),
                isNum(s.durationMs) ? e(formatMs(s.durationMs)) : '',
                `<span class="detail">${e(detailText(s.detail))}</span>`,
              ],
              ['num', '', '', '', 'num', ''],
            ),
          ),
          [0, 4],
        )
      : '<p class="detail">No step was recorded.</p>',
  );

  h.push(`<h2>Spec</h2><details><summary>The resolved drill spec</summary><pre>${e(JSON.stringify(spec, null, 2))}</pre></details>`);
  h.push('</body></html>');
  return h.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// Files

export interface DrillReportPaths {
  json: string;
  html: string;
  md: string;
}

/** The workflow id as a file name: anything but letters, digits, '.', '_' and '-' becomes '_' (no path, no hidden file). */
export function reportFileStem(workflowId: string): string {
  const s = String(workflowId).replace(/[^A-Za-z0-9._-]/g, '_');
  return !s || s.startsWith('.') ? `drill_${s}` : s;
}

/** Writes `<dir>/<workflowId>.json`, `.html` and `.md`, each atomically (a reader sees the old file or the new, never a part). */
export async function writeDrillReport(dir: string, result: DrillResult): Promise<DrillReportPaths> {
  await fsp.mkdir(dir, { recursive: true });
  const stem = path.join(dir, reportFileStem(result.workflowId));
  const paths: DrillReportPaths = { json: `${stem}.json`, html: `${stem}.html`, md: `${stem}.md` };
  await atomicWriteFile(paths.html, drillReportHtml(result));
  await atomicWriteFile(paths.md, drillReportMarkdown(result));
  // The JSON last: once it is there, the whole report is.
  await atomicWriteFile(paths.json, JSON.stringify(result, null, 2) + '\n');
  return paths;
}
