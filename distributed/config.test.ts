import { ConfigError } from '../platform/errors.js';
import { readServiceConfig } from './config.js';

const required = { VIGIL_KAFKA_BROKERS: '127.0.0.1:9092', VIGIL_API_KEYS: 'ingest:0123456789abcdef' };

describe('readServiceConfig: the idempotency store', () => {
  it('defaults to the claims topic every ingest replica shares', () => {
    expect(readServiceConfig(['ingest'], required).idempotencyStore).toBe('claims');
  });

  it('takes the per-process journal when asked', () => {
    expect(readServiceConfig(['ingest'], { ...required, VIGIL_IDEMPOTENCY_STORE: 'journal' }).idempotencyStore).toBe(
      'journal',
    );
  });

  it('refuses anything else, naming the key', () => {
    expect(() => readServiceConfig(['ingest'], { ...required, VIGIL_IDEMPOTENCY_STORE: 'redis' })).toThrow(ConfigError);
    expect(() => readServiceConfig(['ingest'], { ...required, VIGIL_IDEMPOTENCY_STORE: 'redis' })).toThrow(
      /VIGIL_IDEMPOTENCY_STORE/,
    );
  });
});
