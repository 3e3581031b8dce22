import { generateSessions } from './sessions';
import { generateCatalog } from './synthetic';

describe('generateSessions', () => {
  const { products } = generateCatalog({ products: 3000, users: 0, seed: 7 });
  const sessions = generateSessions(products, { sessions: 2000, seed: 7, headItems: 600 });

  it('is deterministic and well formed: users s00001 …, 4 to 12 distinct catalog items in time order', () => {
    expect(generateSessions(products, { sessions: 2000, seed: 7, headItems: 600 })).toEqual(sessions);
    expect(sessions[0]!.userId).toBe('s00001');
    const ids = new Set(products.map((p) => p.id));
    for (const s of sessions) {
      expect(s.items.length).toBeGreaterThanOrEqual(4);
      expect(s.items.length).toBeLessThanOrEqual(12);
      expect(new Set(s.items.map((i) => i.id)).size).toBe(s.items.length);
      for (const i of s.items) expect(ids.has(i.id)).toBe(true);
      for (let k = 1; k < s.items.length; k++) expect(s.items[k]!.ts).toBeGreaterThan(s.items[k - 1]!.ts);
    }
    expect(generateSessions(products, { sessions: 0, seed: 7 })).toEqual([]);
    expect(() => generateSessions(products, { sessions: -1, seed: 7 })).toThrow(/non-negative/);
  });

  it('stays in the shop’s head and has an order to learn: an item’s most frequent successor follows it far more often than chance', () => {
    const visited = new Set(sessions.flatMap((s) => s.items.map((i) => i.id)));
    expect(visited.size).toBeLessThanOrEqual(700);
    const after = new Map<string, Map<string, number>>();
    let pairs = 0;
    for (const s of sessions)
      for (let k = 1; k < s.items.length; k++) {
        const m = after.get(s.items[k - 1]!.id) ?? new Map<string, number>();
        m.set(s.items[k]!.id, (m.get(s.items[k]!.id) ?? 0) + 1);
        after.set(s.items[k - 1]!.id, m);
        pairs++;
      }
    // Share of transitions that go to the predecessor's single most frequent successor.
    let top = 0;
    for (const m of after.values()) top += Math.max(...m.values());
    expect(top / pairs).toBeGreaterThan(0.3);
  });
});
