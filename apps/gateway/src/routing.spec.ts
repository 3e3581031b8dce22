import { ModelKind } from '@ranksafe/proto';
import { analysedPath, PRODUCTION_ONLY, routingFor } from './routing';

const split = (modelKind: ModelKind, canaryVersion = 'v2') => ({
  ...PRODUCTION_ONLY,
  modelName: 'm',
  canaryVersion,
  canaryWeight: 0.5,
  revision: 3,
  modelKind,
});

describe('which path a canary split applies to', () => {
  it('a search-model split (any ranking kind, or unspecified as stored before kinds) applies to the Rank calls only', () => {
    for (const kind of [ModelKind.MODEL_KIND_UNSPECIFIED, ModelKind.MODEL_KIND_BI_ENCODER, ModelKind.MODEL_KIND_CROSS_ENCODER]) {
      expect(routingFor(split(kind), 'rank')).toEqual(split(kind));
      expect(routingFor(split(kind), 'sequential')).toBe(PRODUCTION_ONLY);
      expect(analysedPath(split(kind))).toBe('rank');
    }
  });

  it('a sequential-recommender split applies to the sequential path only, and is what the analysis counts while a canary is set', () => {
    const r = split(ModelKind.MODEL_KIND_SEQUENTIAL_RECOMMENDER);
    expect(routingFor(r, 'sequential')).toEqual(r);
    expect(routingFor(r, 'rank')).toBe(PRODUCTION_ONLY);
    expect(analysedPath(r)).toBe('sequential');
    // Cleared (promoted or rolled back): the analysis counts the Rank calls again.
    expect(analysedPath(split(ModelKind.MODEL_KIND_SEQUENTIAL_RECOMMENDER, ''))).toBe('rank');
  });
});
