import type { CatalogProduct } from './catalog';

export interface RetrievalFilters {
  categories?: string[];
  brands?: string[];
  minPrice?: number;
  maxPrice?: number;
}

/** A filter naming a value the catalog does not have, or an impossible range. */
export class FilterError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'FilterError';
  }
}

/**
 * Filters (categories, brands, a price range) over a catalog's products by row: checked against what
 * the catalog has (an unknown category or brand is a FilterError naming the field), then a row test.
 * Retrieval filters its candidates with it; the ranking service filters a recommender's items with it.
 */
export class CatalogFilter {
  private readonly categories = new Set<string>();
  private readonly brands = new Set<string>();

  constructor(private readonly products: CatalogProduct[]) {
    for (const p of products) {
      if (p.brand) this.brands.add(p.brand);
      // "Furniture > Sofas" can be filtered as "Furniture > Sofas" or as "Furniture".
      const parts = p.category.split(/\s*>\s*/);
      for (let k = 1; k <= parts.length; k++) this.categories.add(parts.slice(0, k).join(' > ').toLowerCase());
    }
  }

  /** A row test for `filters` (and rows to leave out), or undefined when nothing is filtered; throws FilterError. */
  acceptFor(filters: RetrievalFilters | undefined, exclude?: Set<number>): ((row: number) => boolean) | undefined {
    const f = filters ?? {};
    const cats = (f.categories ?? []).map((c) => c.trim().toLowerCase());
    for (const c of cats) if (!this.categories.has(c)) throw new FilterError('filters.categories', `unknown category "${c}"`);
    const brands = new Set((f.brands ?? []).map((b) => b.trim()));
    for (const b of brands) if (!this.brands.has(b)) throw new FilterError('filters.brands', `unknown brand "${b}"`);
    const { minPrice, maxPrice } = f;
    if (minPrice !== undefined && !(Number.isFinite(minPrice) && minPrice >= 0))
      throw new FilterError('filters.min_price', 'min_price must be a finite number >= 0');
    if (maxPrice !== undefined && !(Number.isFinite(maxPrice) && maxPrice >= 0))
      throw new FilterError('filters.max_price', 'max_price must be a finite number >= 0');
    if (minPrice !== undefined && maxPrice !== undefined && minPrice > maxPrice) {
      throw new FilterError('filters.min_price', `min_price ${minPrice} is above max_price ${maxPrice}`);
    }
    if (!cats.length && !brands.size && minPrice === undefined && maxPrice === undefined && !exclude?.size) return undefined;
    const products = this.products;
    return (row) => {
      if (exclude?.has(row)) return false;
      const p = products[row]!;
      if (minPrice !== undefined && p.price < minPrice) return false;
      if (maxPrice !== undefined && p.price > maxPrice) return false;
      if (brands.size && !brands.has(p.brand)) return false;
      if (cats.length) {
        const c = p.category.toLowerCase();
        if (!cats.some((x) => c === x || c.startsWith(`${x} >`))) return false;
      }
      return true;
    };
  }
}
