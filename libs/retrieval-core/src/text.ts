const STOPWORDS = new Set('a an and are as at be by for from has have in is it its of on or that the this to was were will with without'.split(' '));

/**
 * Analyzer for product text: Unicode-normalise, strip accents, lower-case, split on anything
 * that is not a letter or digit, drop stopwords, and fold simple English plurals
 * (tables → table, lamps → lamp, accessories → accessory, boxes → box).
 */
export function analyze(text: string): string[] {
  const out: string[] = [];
  const norm = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase();
  for (const raw of norm.split(/[^\p{L}\p{N}]+/u)) {
    if (!raw || STOPWORDS.has(raw)) continue;
    out.push(stem(raw));
  }
  return out;
}

function stem(t: string): string {
  if (t.length <= 3 || /\d/.test(t)) return t;
  if (t.endsWith('ies') && t.length > 4) return `${t.slice(0, -3)}y`;
  if (/(ss|us|is)$/.test(t)) return t;
  if (/(xes|ches|shes|sses)$/.test(t)) return t.slice(0, -2);
  if (t.endsWith('s')) return t.slice(0, -1);
  return t;
}
