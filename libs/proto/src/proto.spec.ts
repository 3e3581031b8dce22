import { FaultKind, FaultSpec, RecommendRequest, RegisterVersionRequest, SearchRequest, SearchService } from './index';

describe('generated contracts', () => {
  it('round-trips a SearchRequest with filters through the wire format', () => {
    const req = SearchRequest.fromPartial({ query: 'oak table', k: 10, filters: { categories: ['Tables'], minPrice: 50 } });
    const back = SearchRequest.decode(SearchRequest.encode(req).finish());
    expect(back).toEqual(req);
    expect(back.filters?.maxPrice).toBeUndefined();
    expect(back.filters?.minPrice).toBe(50);
  });

  it('keeps oneof subjects apart (user id vs recent items)', () => {
    const byUser = RecommendRequest.decode(RecommendRequest.encode(RecommendRequest.fromPartial({ subject: { $case: 'userId', value: 'u1' }, k: 5 })).finish());
    expect(byUser.subject).toEqual({ $case: 'userId', value: 'u1' });
    const recent = RecommendRequest.fromPartial({ subject: { $case: 'recent', value: { itemIds: ['a', 'b'] } } });
    expect(RecommendRequest.decode(RecommendRequest.encode(recent).finish()).subject).toEqual({ $case: 'recent', value: { itemIds: ['a', 'b'] } });
  });

  it('carries upload chunks as bytes', () => {
    const chunk = Buffer.from([0, 1, 2, 255]);
    const msg = RegisterVersionRequest.decode(RegisterVersionRequest.encode({ part: { $case: 'chunk', value: chunk } }).finish());
    expect(msg.part?.$case).toBe('chunk');
    expect(Buffer.from(msg.part!.value as Uint8Array)).toEqual(chunk);
  });

  it('parses the proto JSON form (snake_case names, enum names)', () => {
    const spec = FaultSpec.fromJSON({ kind: 'FAULT_KIND_LATENCY', latency_ms: 250, methods: ['/ranksafe.v1.Ranking/Rank'] });
    expect(spec).toMatchObject({ kind: FaultKind.FAULT_KIND_LATENCY, latencyMs: 250 });
  });

  it('names the public service ranksafe.v1.Search', () => {
    expect(SearchService.search.path).toBe('/ranksafe.v1.Search/Search');
    expect(SearchService.recommend.path).toBe('/ranksafe.v1.Search/Recommend');
  });
});
