import { z } from 'zod';
import { ConfigError, loadConfig, serviceEnvSchema } from './config';

describe('loadConfig', () => {
  it('applies defaults and coerces numbers', () => {
    const cfg = loadConfig('svc', serviceEnvSchema, { GRPC_PORT: '5000' });
    expect(cfg.GRPC_PORT).toBe(5000);
    expect(cfg.GRPC_HOST).toBe('127.0.0.1');
    expect(cfg.ADMIN_TOKEN).toBeUndefined();
  });

  it('treats blank variables as unset', () => {
    expect(loadConfig('svc', serviceEnvSchema, { GRPC_PORT: '  ', ADMIN_TOKEN: '' }).GRPC_PORT).toBe(0);
  });

  it('names every bad variable in one line', () => {
    const run = () => loadConfig('gateway', serviceEnvSchema, { GRPC_PORT: 'abc', LOG_LEVEL: 'loud', ADMIN_TOKEN: 'short' });
    expect(run).toThrow(ConfigError);
    try {
      run();
    } catch (e) {
      const msg = (e as Error).message;
      expect(msg).not.toContain('\n');
      expect(msg).toMatch(/^invalid configuration for gateway: /);
      expect(msg).toContain('GRPC_PORT: expected a port number 0..65535');
      expect(msg).toContain('LOG_LEVEL');
      expect(msg).toContain('ADMIN_TOKEN must be at least 16 characters');
    }
  });

  it('rejects a port out of range', () => {
    expect(() => loadConfig('svc', serviceEnvSchema, { GRPC_PORT: '70000' })).toThrow(/GRPC_PORT/);
  });

  it('extends per app', () => {
    const schema = serviceEnvSchema.extend({ DATABASE_URL: z.string().url() });
    expect(() => loadConfig('model-registry', schema, {})).toThrow(/DATABASE_URL/);
  });
});
