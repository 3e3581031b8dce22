import { ModelKind, RecommendResponse } from '@ranksafe/proto';
import { renderRecommend } from './serving';

const product = (id: string) => ({ id, title: `title ${id}`, description: '', category: 'Ring > Odd', brand: 'b', price: 3, attributes: {} });

describe('ops recommend: rendering', () => {
  it('names the path that answered, why the sequential recommender did not, and what was ignored', () => {
    const seq = renderRecommend(
      RecommendResponse.fromPartial({
        path: 'sequential',
        ignoredItemIds: ['gone-1'],
        rankingModel: { name: 'seqrec-demo', version: 'fp32-abc', kind: ModelKind.MODEL_KIND_SEQUENTIAL_RECOMMENDER },
        results: [{ product: product('i3'), score: 2.5 }],
      }),
    );
    expect(seq.split('\n').slice(0, 3)).toEqual(['path: sequential', 'ignored: gone-1', 'ranked by seqrec-demo fp32-abc']);
    expect(seq).toMatch(/1\s+2\.5000\s+i3/);
    const fallback = renderRecommend(
      RecommendResponse.fromPartial({ path: 'profile', fallbackReason: 'no_model', rankingModel: { name: 'minilm-l6-v2', version: 'int8-x' } }),
    );
    expect(fallback.split('\n')[0]).toBe('path: profile (sequential recommender: no_model)');
  });
});
