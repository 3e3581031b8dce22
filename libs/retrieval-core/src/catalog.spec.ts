import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sharedData } from '@ranksafe/testing';
import { type CatalogProduct, parseCsv, parseProduct, parseUser, productText, readCatalog, readUsers, writeCatalogJsonl, writeUsersJsonl } from './catalog';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'catalog-spec-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const write = (name: string, text: string) => {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
};

describe('parseCsv', () => {
  it('handles quoted fields with delimiters, doubled quotes and newlines', () => {
    const recs = parseCsv('a,b,c\n1,"x, y","say ""hi"""\n2,"line1\nline2",z\n');
    expect(recs.map((r) => r.fields)).toEqual([
      ['a', 'b', 'c'],
      ['1', 'x, y', 'say "hi"'],
      ['2', 'line1\nline2', 'z'],
    ]);
    expect(recs.map((r) => r.line)).toEqual([1, 2, 3]);
  });

  it('accepts CRLF, a BOM, empty fields, blank lines and no final newline', () => {
    const recs = parseCsv('\ufeffa,b\r\n\r\n,""\r\n"q",r');
    expect(recs.map((r) => r.fields)).toEqual([
      ['a', 'b'],
      ['', ''],
      ['q', 'r'],
    ]);
    expect(recs.map((r) => r.line)).toEqual([1, 3, 4]);
  });

  it('keeps a quote that does not open a field, and supports tabs', () => {
    expect(parseCsv('5" pot\tx\n', '\t')[0]!.fields).toEqual(['5" pot', 'x']);
  });

  it('counts lines across multi-line fields and rejects an unterminated quote', () => {
    const recs = parseCsv('h\n"a\n\nb"\nc\n');
    expect(recs.map((r) => [r.fields[0], r.line])).toEqual([
      ['h', 1],
      ['a\n\nb', 2],
      ['c', 5],
    ]);
    expect(() => parseCsv('a\n"open\n')).toThrow(/line 2: unterminated/);
  });
});

describe('parseProduct', () => {
  it('trims, defaults and stringifies attribute values', () => {
    const p = parseProduct(
      { id: ' p1 ', title: ' Lamp ', price: '12.50', attributes: { watts: 40, dimmable: true, tags: ['a', 'b'], none: null, blank: ' ' } },
      'x',
    );
    expect(p).toEqual({
      id: 'p1',
      title: 'Lamp',
      description: '',
      category: '',
      brand: '',
      price: 12.5,
      attributes: { watts: '40', dimmable: 'true', tags: 'a, b' },
    });
    expect(parseProduct({ id: 7, title: 't', attrs: { color: 'red' } }, 'x')).toMatchObject({ id: '7', price: 0, attributes: { color: 'red' } });
    expect(parseProduct({ id: 'a', title: 't', attributes: '{"size":"XL"}' }, 'x').attributes).toEqual({ size: 'XL' });
  });

  it('rejects bad rows, naming where', () => {
    expect(() => parseProduct({ id: 'a', title: 't', price: -1 }, 'catalog.jsonl line 17')).toThrow(
      'catalog.jsonl line 17: price must be a non-negative number',
    );
    expect(() => parseProduct({ id: 'a', title: 't', price: 'abc' }, 'w')).toThrow(/price/);
    expect(() => parseProduct({ id: 'a', title: 't', price: '12abc' }, 'w')).toThrow(/price/);
    expect(() => parseProduct({ id: 'a', title: 't', price: Infinity }, 'w')).toThrow(/price/);
    expect(() => parseProduct({ id: '  ', title: 't' }, 'w')).toThrow('w: id is required');
    expect(() => parseProduct({ id: 'a' }, 'w')).toThrow(/title is required/);
    expect(() => parseProduct({ id: 'a', title: { x: 1 } }, 'w')).toThrow(/title must be a string/);
    expect(() => parseProduct({ id: 'a', title: 't', attributes: '[1]' }, 'w')).toThrow(/attributes/);
    expect(() => parseProduct([1], 'w')).toThrow(/expected a JSON object/);
  });
});

describe('readCatalog', () => {
  it('reads JSON lines, ignoring blank lines, and reports line numbers', () => {
    const f = write('c.jsonl', '{"id":"a","title":"A","price":1}\n\n   \n{"id":"b","title":"B"}\n');
    expect(readCatalog(f).map((p) => p.id)).toEqual(['a', 'b']);
    const bad = write('bad.jsonl', '{"id":"a","title":"A"}\n\n{"id":"b","title":"B","price":-3}\n');
    expect(() => readCatalog(bad)).toThrow('bad.jsonl line 3: price must be a non-negative number');
    const broken = write('broken.jsonl', '{"id":"a",\n');
    expect(() => readCatalog(broken)).toThrow(/broken.jsonl line 1: invalid JSON/);
  });

  it('rejects duplicate ids', () => {
    const f = write('dup.jsonl', '{"id":"a","title":"A"}\n{"id":"b","title":"B"}\n{"id":"a","title":"C"}\n');
    expect(() => readCatalog(f)).toThrow('dup.jsonl line 3: duplicate id "a" (first at dup.jsonl line 1)');
    const c = write('dup.csv', 'id,title\nx,1\nx,2\n');
    expect(() => readCatalog(c)).toThrow(/dup.csv line 3: duplicate id "x"/);
  });

  it('reads CSV with quotes, newlines, JSON attributes and extra columns as attributes', () => {
    const f = write(
      'c.csv',
      [
        'id,title,description,category,brand,price,attributes,Color',
        'p1,"Sofa, 3-Seater","Deep seats.\nSay ""comfy"".",Furniture > Sofas,Nordhaven,899.99,"{""material"":""velvet""}",Green',
        'p2,Lamp,,Home > Lighting,,,,',
        '',
      ].join('\n'),
    );
    const ps = readCatalog(f);
    expect(ps).toEqual<CatalogProduct[]>([
      {
        id: 'p1',
        title: 'Sofa, 3-Seater',
        description: 'Deep seats.\nSay "comfy".',
        category: 'Furniture > Sofas',
        brand: 'Nordhaven',
        price: 899.99,
        attributes: { Color: 'Green', material: 'velvet' },
      },
      { id: 'p2', title: 'Lamp', description: '', category: 'Home > Lighting', brand: '', price: 0, attributes: {} },
    ]);
  });

  it('reads TSV, and names the line of a bad CSV row (counting embedded newlines)', () => {
    const t = write('c.tsv', 'id\ttitle\tprice\na\t"x\ty"\t3\n');
    expect(readCatalog(t)[0]).toMatchObject({ id: 'a', title: 'x\ty', price: 3 });
    const bad = write('bad.csv', 'id,title,description,price\na,A,"two\nlines",1\nb,B,,-5\n');
    expect(() => readCatalog(bad)).toThrow('bad.csv line 4: price must be a non-negative number');
    const short = write('short.csv', 'id,title,price\na,A\n');
    expect(() => readCatalog(short)).toThrow('short.csv line 2: expected 3 fields, got 2');
    const nohead = write('nohead.csv', 'sku,name\n1,2\n');
    expect(() => readCatalog(nohead)).toThrow(/must have an "id" column/);
  });

  it('round-trips through writeCatalogJsonl without leaving temp files', () => {
    const ps: CatalogProduct[] = Array.from({ length: 3000 }, (_, i) => ({
      id: `p${i}`,
      title: `Item ${i} "quoted"\n`.trim(),
      description: 'd'.repeat(500),
      category: 'A > B',
      brand: 'Br',
      price: i / 4,
      attributes: { color: 'red' },
    }));
    const out = path.join(dir, 'rt', 'catalog.jsonl');
    writeCatalogJsonl(out, ps);
    expect(readCatalog(out)).toEqual(ps);
    expect(fs.readdirSync(path.dirname(out))).toEqual(['catalog.jsonl']);
  });
});

describe('users', () => {
  it('round-trips, sorts items by time and rejects bad rows', () => {
    const f = path.join(dir, 'users.jsonl');
    writeUsersJsonl(f, [
      { userId: 'u1', items: [{ id: 'a', rating: 5, ts: 2 }] },
      { userId: 'u2', items: [] },
    ]);
    expect(readUsers(f)).toEqual([
      { userId: 'u1', items: [{ id: 'a', rating: 5, ts: 2 }] },
      { userId: 'u2', items: [] },
    ]);
    const u = parseUser(
      {
        userId: 'u',
        items: [
          { id: 'b', rating: 4, ts: 9 },
          { id: 'a', rating: 3, ts: 1 },
          { id: 'c', rating: 3, ts: 9 },
        ],
      },
      'w',
    );
    expect(u.items.map((i) => i.id)).toEqual(['a', 'b', 'c']);
    expect(() => parseUser({ userId: 'u', items: [{ id: 'a', rating: 'x', ts: 1 }] }, 'w')).toThrow('w item 0: rating');
    const dup = write('dupu.jsonl', '{"userId":"u","items":[]}\n{"userId":"u","items":[]}\n');
    expect(() => readUsers(dup)).toThrow(/line 2: duplicate userId "u"/);
  });
});

describe('productText', () => {
  it('joins title, brand, category and the first description words, skipping empty parts', () => {
    expect(productText({ title: 'Velvet Sofa', brand: 'Nordhaven', category: 'Furniture > Sofas', description: 'Deep  seats.\nSoft.' }, 5)).toBe(
      'Velvet Sofa | Nordhaven | Furniture > Sofas | Deep seats. Soft.',
    );
    expect(productText({ title: 'Velvet Sofa', brand: 'Nordhaven', category: 'Furniture > Sofas', description: 'Deep seats.' }, 0)).toBe(
      'Velvet Sofa | Nordhaven | Furniture > Sofas',
    );
    expect(productText({ title: 'Planter', category: 'planters', brand: '' })).toBe('Planter | planters');
    const long = Array.from({ length: 100 }, (_, i) => `w${i}`).join(' ');
    const words = productText({ title: 't', category: 'c', description: long }, 12).split(' | ')[2]!.split(' ');
    expect(words).toHaveLength(12);
    expect(words.at(-1)).toBe('w11');
  });
});

const data = sharedData();
const wandsSlice = data && path.join(data, 'wands', 'products-slice.jsonl');
(wandsSlice && fs.existsSync(wandsSlice) ? describe : describe.skip)('readCatalog on the WANDS slice (../shared/data)', () => {
  it('reads all 617 products with attrs as attributes', () => {
    const ps = readCatalog(wandsSlice!);
    expect(ps).toHaveLength(617);
    expect(ps[0]).toMatchObject({ id: '109', brand: '', price: 0, attributes: { color: 'blue', shape: 'round', material: 'terracotta' } });
    expect(ps.every((p) => p.title.length > 0)).toBe(true);
  });
});
