import { loadAgentConfig } from './config';

describe('load-agent configuration', () => {
  it('has defaults for everything', () => {
    const cfg = loadAgentConfig({});
    expect(cfg).toMatchObject({
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/ranksafe',
      GATEWAY_ADDRESS: '127.0.0.1:50051',
      LOAD_POLL_MS: 1000,
      LOAD_FLUSH_MS: 500,
      LOAD_MAX_IN_FLIGHT: 1000,
    });
    expect(cfg.LOAD_QUERIES_FILE ?? cfg.LOAD_CATALOG_DIR).toBeUndefined();
  });
  it('rejects a bad value with one line naming the variable', () => {
    expect(() => loadAgentConfig({ LOAD_POLL_MS: '5', DATABASE_URL: 'nope' })).toThrow(
      /^invalid configuration for load-agent: .*DATABASE_URL.*|.*LOAD_POLL_MS/,
    );
    expect(() => loadAgentConfig({ LOAD_FLUSH_MS: 'soon' })).toThrow(/LOAD_FLUSH_MS/);
  });
});
