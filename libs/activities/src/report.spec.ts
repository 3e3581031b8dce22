// The drill report on a hand-written ranking-replica-kill result: the Markdown summary, the offline
// HTML page and its SVG timeline (a line per latency, a marker per mark, every string escaped), the files.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { DrillResult } from '@ranksafe/drills';
import { drillReportHtml, drillReportMarkdown, reportFileStem, timelineSvg, writeDrillReport } from './report';
import { drillResultFixture, FIXTURE_T0 } from './report.fixture';

const XSS = '<script src="https://evil.example/x.js">alert(1)</script>';

/** The SVG of the page. */
const svgOf = (html: string) => {
  const m = /<svg id="timeline-chart"[\s\S]*?<\/svg>/.exec(html);
  expect(m).not.toBeNull();
  return m![0];
};

/** The `d` of the latency line `name`, as its commands. */
function lineCommands(svg: string, name: 'p50' | 'p99'): string[] {
  const m = new RegExp(`<path class="line ${name}" data-series="${name}" d="([^"]*)"`).exec(svg);
  expect(m).not.toBeNull();
  return m![1]!.match(/[ML][^ML]*/g) ?? [];
}

/** Every element opened is closed, in order (void HTML elements and self-closed ones aside). */
function expectBalanced(markup: string) {
  const VOID = new Set(['meta', 'br', 'hr', 'img', 'input', 'link']);
  const stack: string[] = [];
  for (const m of markup.replace(/<!doctype html>/i, '').matchAll(/<(\/?)([a-zA-Z][\w-]*)\b[^>]*?(\/?)>/g)) {
    const [, close, name, self] = m;
    if (close) expect(`</${stack.pop()}>`).toBe(`</${name}>`);
    else if (!self && !VOID.has(name!.toLowerCase())) stack.push(name!);
  }
  expect(stack).toEqual([]);
}

/** The per-second bars of the chart (not its legend). */
const barsOf = (svg: string) => /<g class="bars">[\s\S]*?<\/g>/.exec(svg)![0];

const marksOf = (svg: string) => [...svg.matchAll(/data-mark="([^"]+)"/g)].map((m) => m[1]);

describe('drillReportMarkdown', () => {
  const r = drillResultFixture();
  const text = drillReportMarkdown(r);
  const lines = text.trimEnd().split('\n');

  it('is a short summary: title, outcome and reason, score', () => {
    expect(lines.length).toBeLessThanOrEqual(25);
    expect(lines[0]).toBe(`## Drill Ranking replica SIGKILL: passed, score ${r.score.value} / 100`);
    expect(lines[1]).toMatch(/^\*\*passed\*\*: ranking-service-2 was detected in 1\.8 s and steady state restored in 11\.5 s; no request failed\./);
    expect(lines[1]).toContain('Points lost on: detection 0.95, recovery 0.78, degradation 0.9.');
    expect(lines[2]).toBe('`drill-ranking-replica-kill-20250602T095952Z` · ranking-replica-kill · started 2025-06-02T09:59:52.800Z');
  });

  it('has the figures with their targets', () => {
    expect(text).toContain('| MTTD | 1.8 s | ≤ 3 s |');
    expect(text).toContain('| RTO | 11.5 s | ≤ 15 s |');
    expect(text).toContain('| RPO | — | |');
    expect(text).toContain('| requests | 300 | |');
    expect(text).toContain('| failed | 0 (0%) | ≤ 0% |');
    expect(text).toContain('| degraded | 3 (1%) | ≤ 5% |');
    expect(text).toContain('| p50 before / during / after | 9 ms / 11 ms / 9 ms | |');
    expect(text).toContain('| p99 before / during / after | 21 ms / 180 ms / 23 ms | ≤ 1.5 s |');
  });

  it("lists the Recovery's steps, one per line, in seconds since the injection", () => {
    const steps = lines.filter((l) => l.startsWith('- '));
    expect(steps).toEqual([
      '- +1.8 s recover-ranking-service-2 open-incident: completed (25 ms)',
      '- +1.9 s recover-ranking-service-2 drain: completed (40 ms)',
      '- +2 s recover-ranking-service-2 restart: completed (2.1 s)',
      '- +4.1 s recover-ranking-service-2 load-production: completed (5.2 s)',
      '- +9.4 s recover-ranking-service-2 verify: completed (1.9 s)',
      '- +11.3 s recover-ranking-service-2 undrain: completed (60 ms)',
    ]);
  });

  it('caps a long step list and keeps the rest for the HTML report', () => {
    const many = Array.from({ length: 30 }, (_, i) => ({ source: 'recover-x', step: `s${i}`, state: 'completed', atUnixMs: FIXTURE_T0 + i }));
    const out = drillReportMarkdown(drillResultFixture({ steps: many }))
      .trimEnd()
      .split('\n');
    expect(out.length).toBeLessThanOrEqual(25);
    expect(out.filter((l) => l.startsWith('- '))).toHaveLength(9);
    expect(out[out.length - 1]).toBe('- … and 22 more (see the HTML report)');
  });

  it('escapes markup and keeps a multi-line reason on its line', () => {
    const out = drillReportMarkdown(drillResultFixture({ reason: `${XSS}\n| boom | *x*` }));
    expect(out).not.toMatch(/(^|[^\\])<script/m);
    expect(out).toContain('\\<script src="https://evil.example/x.js"\\>alert(1)\\</script\\> \\| boom \\| \\*x\\*');
  });

  it('says — for a figure that is missing (a dry run: no detection, no load)', () => {
    const dry = drillResultFixture({
      outcome: 'dry-run',
      figures: { ...drillResultFixture().figures, mttdMs: undefined, rtoMs: undefined },
      steps: [],
    });
    const out = drillReportMarkdown(dry);
    expect(out).toContain('| MTTD | — | ≤ 3 s |');
    expect(out).not.toContain('Recovery steps');
  });
});

describe('drillReportHtml', () => {
  const r = drillResultFixture();
  const html = drillReportHtml(r);
  const svg = svgOf(html);

  it('is one page that opens offline: no URL, no script, no external resource', () => {
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/https?:\/\//i);
    expect(html).not.toMatch(/<(script|link|iframe|img|object|embed|base)\b/i);
    expect(html).not.toMatch(/url\(|@import|\bsrc=|\bhref=/i);
    expectBalanced(html);
  });

  it('has the outcome, the score, the reason and the figures', () => {
    expect(html).toContain('<header class="passed">');
    expect(html).toContain(`<span class="score" id="score">${r.score.value}</span>`);
    expect(html).toContain('<p class="reason" id="reason">ranking-service-2 was detected in 1.8 s');
    for (const s of ['1.8 s', '11.5 s', '≤ 3 s', '≤ 15 s', '0 (0%)', '3 (1%)', '180 ms', 'By status: OK 297 · DEGRADED 3']) expect(html).toContain(s);
    for (const p of r.score.parts) expect(html).toContain(p.detail);
  });

  it('has the checks, the blast radius and every step', () => {
    for (const k of r.checks) expect(html).toContain(k.detail);
    expect(html).toContain('SIGKILL of ranking-service-2 (pid 41233)');
    expect(html).toContain('<li>start ranking-service-2 if it is still down</li>');
    for (const s of r.steps) expect(html).toContain(`<td>${s.step}</td>`);
    expect(html).toContain('{&quot;model&quot;:&quot;ranker&quot;,&quot;version&quot;:7}');
  });

  it('draws the timeline: a path per latency line through every answered second', () => {
    expect(html.match(/id="timeline-chart"/g)).toHaveLength(1);
    for (const name of ['p50', 'p99'] as const) {
      const cmds = lineCommands(svg, name);
      expect(cmds).toHaveLength(30);
      expect(cmds[0]!.startsWith('M')).toBe(true);
      expect(cmds.slice(1).every((c) => c.startsWith('L'))).toBe(true);
    }
    // p99 peaks in the second of the kill: the highest point (smallest y) is the 7th.
    const ys = lineCommands(svg, 'p99').map((c) => Number(c.trim().split(' ')[1]));
    expect(ys.indexOf(Math.min(...ys))).toBe(6);
    expect(svg.match(/<path class="line sent" data-series="sent" d="M[^"]*"/)![0].match(/H/g)).toHaveLength(30);
    expect(barsOf(svg).match(/<rect class="degraded"/g)).toHaveLength(2);
    expect(barsOf(svg)).not.toContain('<rect class="failed"');
    expect(svg.match(/<circle class="step /g)).toHaveLength(r.steps.length);
    expect(svg).toContain('seconds since injection');
    expectBalanced(svg);
  });

  it('puts one labelled marker per mark, in the order of the drill, at its place on the time axis', () => {
    expect(marksOf(svg)).toEqual(['injected', 'injection-proven', 'detected', 'recovered', 'reverted']);
    expect(svg).toContain(`data-mark="detected" data-at-ms="${FIXTURE_T0 + 1840}" data-t="1.84"`);
    expect(svg).toContain('>recovered (steady state) +11.5 s</text>');
    // The markers sit left to right as their times do.
    const xs = [...svg.matchAll(/<g class="mark"[^>]*><line x1="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(xs).toEqual([...xs].sort((a, b) => a - b));
  });

  it('draws only the marks that happened', () => {
    const m = { ...r.marks, detectedAtUnixMs: undefined, recoveredAtUnixMs: undefined };
    expect(marksOf(timelineSvg(drillResultFixture({ marks: m })))).toEqual(['injected', 'injection-proven', 'reverted']);
  });

  it('breaks a latency line over a second with no answer', () => {
    const series = r.series.map((p, i) => (i === 10 ? { ...p, ok: 0, failed: p.sent, p50Ms: 0, p99Ms: 0 } : p));
    const svg2 = timelineSvg(drillResultFixture({ series }));
    const cmds = lineCommands(svg2, 'p50');
    expect(cmds).toHaveLength(29);
    expect(cmds.filter((c) => c.startsWith('M'))).toHaveLength(2);
    expect(barsOf(svg2).match(/<rect class="failed"/g)).toHaveLength(1);
  });

  it('renders a run without load or injection (a dry run) with an empty chart', () => {
    const dry: DrillResult = drillResultFixture({
      outcome: 'dry-run',
      series: [],
      steps: [],
      marks: { startedAtUnixMs: FIXTURE_T0, endedAtUnixMs: FIXTURE_T0 + 50 },
    });
    const out = drillReportHtml(dry);
    const s = svgOf(out);
    expect(out).toContain('<header class="dry-run">');
    expect(s).toContain('no load was sent');
    expect(marksOf(s)).toEqual([]);
    expect(lineCommands(s, 'p50')).toEqual([]);
    expect(s).toContain('seconds since start');
    expectBalanced(out);
  });

  it('escapes every string from the result: a <script> in the reason shows as text', () => {
    const bad = drillResultFixture({
      reason: XSS,
      title: '<b>bold</b>',
      workflowId: 'drill-"x"',
      checks: [{ name: '<img src=x onerror=alert(1)>', ok: false, detail: '</td></tr></table>', atUnixMs: FIXTURE_T0 }],
      steps: [{ source: '<svg onload=alert(1)>', step: "'step'", state: '&amp;', atUnixMs: FIXTURE_T0, detail: { note: '</pre><script>' } }],
      blastRadius: { ...r.blastRadius, reverts: ['<iframe>'], instances: ['<i>'] },
      figures: { ...r.figures, byStatus: { '<UNAVAILABLE>': 3 } },
    });
    const out = drillReportHtml(bad);
    expect(out).not.toMatch(/<(script|img|iframe|b|i)\b/);
    expect(out).not.toContain('<svg onload');
    expect(out).toContain('&lt;script src=&quot;https://evil.example/x.js&quot;&gt;alert(1)&lt;/script&gt;');
    expect(out).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(out).toContain('&#39;step&#39;');
    expect(out).toContain('&amp;amp;');
    expect(out).toContain('&lt;UNAVAILABLE&gt;');
    // The only URL left is inside escaped text, never in an attribute that would load it.
    for (const m of out.matchAll(/https?:\/\//g)) expect(out.slice(0, m.index).endsWith('&lt;script src=&quot;')).toBe(true);
    expectBalanced(out);
  });

  it('is deterministic', () => {
    expect(drillReportHtml(drillResultFixture())).toBe(html);
  });
});

describe('writeDrillReport', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drill-report-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes <workflowId>.json, .html and .md and returns their paths', async () => {
    const r = drillResultFixture();
    const out = path.join(dir, 'reports');
    const paths = await writeDrillReport(out, r);
    const stem = path.join(out, 'drill-ranking-replica-kill-20250602T095952Z');
    expect(paths).toEqual({ json: `${stem}.json`, html: `${stem}.html`, md: `${stem}.md` });
    expect(JSON.parse(fs.readFileSync(paths.json, 'utf8'))).toEqual(JSON.parse(JSON.stringify(r)));
    expect(fs.readFileSync(paths.html, 'utf8')).toBe(drillReportHtml(r));
    expect(fs.readFileSync(paths.md, 'utf8')).toBe(drillReportMarkdown(r));
    expect(fs.readdirSync(out).sort()).toEqual(['json', 'html', 'md'].map((x) => `drill-ranking-replica-kill-20250602T095952Z.${x}`).sort());
  });

  it('replaces an earlier report whole', async () => {
    await writeDrillReport(dir, drillResultFixture({ reason: 'first' }));
    const paths = await writeDrillReport(dir, drillResultFixture({ reason: 'second' }));
    expect(fs.readFileSync(paths.md, 'utf8')).toContain('second');
    expect(fs.readFileSync(paths.md, 'utf8')).not.toContain('first');
    expect(fs.readdirSync(dir)).toHaveLength(3);
  });

  it('keeps a strange workflow id inside the directory', async () => {
    expect(reportFileStem('../../etc/passwd')).toBe('drill_.._.._etc_passwd');
    expect(reportFileStem('drill-a b/c')).toBe('drill-a_b_c');
    const paths = await writeDrillReport(dir, drillResultFixture({ workflowId: '../escape' }));
    for (const p of Object.values(paths)) expect(path.dirname(p)).toBe(dir);
  });
});
