import { ConfigError } from '../platform/errors.js';
import { loadIngestConfig } from './config.js';
import { TEST_KEY } from './testing/fixtures.js';

describe('loadIngestConfig', () => {
  it('has documented defaults and is frozen', () => {
    const config = loadIngestConfig({ VIGIL_TOKENIZATION_KEY: TEST_KEY });
    expect(config).toMatchObject({
      maxBodyBytes: 65_536,
      maxBatchBodyBytes: 8 * 1024 * 1024,
      maxBatchItems: 5_000,
      limits: { maxAmountMajor: 1_000_000_000n, maxFutureSkewMs: 300_000, maxEventAgeMs: 2_592_000_000 },
    });
    expect(config.tokenizationKey.reveal()).toBe(TEST_KEY);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.limits)).toBe(true);
  });

  it('reads every key', () => {
    const config = loadIngestConfig({
      VIGIL_TOKENIZATION_KEY: TEST_KEY,
      VIGIL_INGEST_MAX_BODY_BYTES: '2048',
      VIGIL_INGEST_MAX_BATCH_BODY_BYTES: '4096',
      VIGIL_INGEST_MAX_BATCH_ITEMS: '10',
      VIGIL_INGEST_MAX_AMOUNT_MAJOR: '500',
      VIGIL_INGEST_MAX_FUTURE_SKEW_MS: '0',
      VIGIL_INGEST_MAX_EVENT_AGE_MS: '60000',
    });
    expect(config).toMatchObject({
      maxBodyBytes: 2048,
      maxBatchBodyBytes: 4096,
      maxBatchItems: 10,
      limits: { maxAmountMajor: 500n, maxFutureSkewMs: 0, maxEventAgeMs: 60_000 },
    });
  });

  it('requires a tokenisation key of 32+ characters and never echoes it', () => {
    expect(() => loadIngestConfig({})).toThrow(ConfigError);
    try {
      loadIngestConfig({ VIGIL_TOKENIZATION_KEY: 'short-secret' });
      throw new Error('expected a ConfigError');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(/VIGIL_TOKENIZATION_KEY/);
      expect((error as Error).message).not.toContain('short-secret');
    }
  });

  it('keeps the key out of logs and JSON', () => {
    const config = loadIngestConfig({ VIGIL_TOKENIZATION_KEY: TEST_KEY });
    expect(JSON.stringify(config, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).not.toContain(
      TEST_KEY,
    );
    expect(String(config.tokenizationKey)).toBe('[secret]');
  });

  it.each([
    ['VIGIL_INGEST_MAX_BATCH_ITEMS', '0'],
    ['VIGIL_INGEST_MAX_BATCH_ITEMS', 'many'],
    ['VIGIL_INGEST_MAX_BODY_BYTES', '10'],
    ['VIGIL_INGEST_MAX_AMOUNT_MAJOR', '1000000000000000'],
    ['VIGIL_INGEST_MAX_EVENT_AGE_MS', '-1'],
  ])('fails fast on %s=%s, naming the key', (key, value) => {
    expect(() => loadIngestConfig({ VIGIL_TOKENIZATION_KEY: TEST_KEY, [key]: value })).toThrow(new RegExp(key));
  });
});
