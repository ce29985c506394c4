import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../platform/errors.js';
import { loadIngestConfig } from './config.js';
import { ADYEN_TEST_ENV } from './testing/adyen.js';
import { TEST_KEY } from './testing/fixtures.js';

describe('loadIngestConfig', () => {
  it('has documented defaults and is frozen', () => {
    const config = loadIngestConfig({ VIGIL_TOKENIZATION_KEY: TEST_KEY });
    expect(config).toMatchObject({
      maxBodyBytes: 65_536,
      maxBatchBodyBytes: 8 * 1024 * 1024,
      maxBatchItems: 5_000,
      maxChannelFileBytes: 256 * 1024 * 1024,
      channelSpoolDir: tmpdir(),
      limits: { maxAmountMajor: 1_000_000_000n, maxFutureSkewMs: 300_000, maxEventAgeMs: 2_592_000_000 },
    });
    expect(config.tokenizationKeys?.currentVersion).toBe('v1');
    expect(config.tokenizationKeys?.keys.get('v1')?.reveal()).toBe(TEST_KEY);
    expect(config.tokenizationKeys?.fingerprintKey.reveal()).toBe(TEST_KEY);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.limits)).toBe(true);
  });

  it('reads the Stripe webhook secret (inline or from a file) and its tolerance; without a secret, none', () => {
    expect(loadIngestConfig({ VIGIL_TOKENIZATION_KEY: TEST_KEY }).stripeWebhooks).toBeUndefined();
    const inline = loadIngestConfig({ VIGIL_TOKENIZATION_KEY: TEST_KEY, VIGIL_STRIPE_WEBHOOK_SECRET: 'whsec_inline' });
    expect([inline.stripeWebhooks?.secret.reveal(), inline.stripeWebhooks?.toleranceSeconds]).toEqual([
      'whsec_inline',
      300,
    ]);
    expect(JSON.stringify(inline.stripeWebhooks)).not.toContain('whsec_inline');
    const file = join(mkdtempSync(join(tmpdir(), 'vigil-stripe-')), 'secret');
    writeFileSync(file, 'whsec_from_file\n');
    const fromFile = loadIngestConfig({
      VIGIL_TOKENIZATION_KEY: TEST_KEY,
      VIGIL_STRIPE_WEBHOOK_SECRET_FILE: file,
      VIGIL_STRIPE_WEBHOOK_TOLERANCE_S: '60',
    });
    expect([fromFile.stripeWebhooks?.secret.reveal(), fromFile.stripeWebhooks?.toleranceSeconds]).toEqual([
      'whsec_from_file',
      60,
    ]);
    expect(() => loadIngestConfig({ VIGIL_TOKENIZATION_KEY: TEST_KEY, VIGIL_STRIPE_WEBHOOK_TOLERANCE_S: '0' })).toThrow(
      ConfigError,
    );
  });

  it('reads the Adyen HMAC key (hex) with its basic-auth credentials; without a key, none; a bad key or no credentials refused', () => {
    const base = { VIGIL_TOKENIZATION_KEY: TEST_KEY };
    expect(loadIngestConfig(base).adyenWebhooks).toBeUndefined();
    const key = 'ab'.repeat(32);
    const good = { ...base, ...ADYEN_TEST_ENV, VIGIL_ADYEN_HMAC_KEY: key };
    const config = loadIngestConfig(good).adyenWebhooks;
    expect([config?.hmacKey.reveal(), config?.username, config?.password.reveal()]).toEqual([
      key,
      ADYEN_TEST_ENV.VIGIL_ADYEN_WEBHOOK_USERNAME,
      ADYEN_TEST_ENV.VIGIL_ADYEN_WEBHOOK_PASSWORD,
    ]);
    expect(JSON.stringify(config)).not.toContain(key);
    expect(JSON.stringify(config)).not.toContain(ADYEN_TEST_ENV.VIGIL_ADYEN_WEBHOOK_PASSWORD);
    const refused = (env: Record<string, string | undefined>) => {
      try {
        loadIngestConfig(env);
        return 'accepted';
      } catch (error) {
        return (error as ConfigError).details['key'];
      }
    };
    // Not hex (Buffer.from would drop the 'g' and verify with a shorter key), odd length, too short.
    for (const bad of [`${'ab'.repeat(31)}gg`, `${key}a`, 'ab'.repeat(15)])
      expect(refused({ ...good, VIGIL_ADYEN_HMAC_KEY: bad })).toBe('VIGIL_ADYEN_HMAC_KEY');
    expect(refused({ ...good, VIGIL_ADYEN_WEBHOOK_USERNAME: undefined })).toBe('VIGIL_ADYEN_WEBHOOK_USERNAME');
    expect(refused({ ...good, VIGIL_ADYEN_WEBHOOK_PASSWORD: undefined })).toBe('VIGIL_ADYEN_WEBHOOK_PASSWORD');
    // Negative control: the same helper on the good environment says accepted.
    expect(refused(good)).toBe('accepted');
  });

  it('reads every key', () => {
    const config = loadIngestConfig({
      VIGIL_TOKENIZATION_KEY: TEST_KEY,
      VIGIL_INGEST_MAX_BODY_BYTES: '2048',
      VIGIL_INGEST_MAX_BATCH_BODY_BYTES: '4096',
      VIGIL_INGEST_MAX_BATCH_ITEMS: '10',
      VIGIL_INGEST_MAX_CHANNEL_FILE_BYTES: '8192',
      VIGIL_INGEST_MAX_AMOUNT_MAJOR: '500',
      VIGIL_INGEST_MAX_FUTURE_SKEW_MS: '0',
      VIGIL_INGEST_MAX_EVENT_AGE_MS: '60000',
    });
    expect(config).toMatchObject({
      maxBodyBytes: 2048,
      maxBatchBodyBytes: 4096,
      maxBatchItems: 10,
      maxChannelFileBytes: 8192,
      limits: { maxAmountMajor: 500n, maxFutureSkewMs: 0, maxEventAgeMs: 60_000 },
    });
  });

  it('reads the idempotency claim timeout (default 60 s) and refuses one outside 1 s..1 h', () => {
    expect(loadIngestConfig({ VIGIL_TOKENIZATION_KEY: TEST_KEY }).idempotencyClaimTimeoutMs).toBe(60_000);
    expect(
      loadIngestConfig({ VIGIL_TOKENIZATION_KEY: TEST_KEY, VIGIL_IDEMPOTENCY_CLAIM_TIMEOUT_MS: '5000' })
        .idempotencyClaimTimeoutMs,
    ).toBe(5_000);
    expect(() =>
      loadIngestConfig({ VIGIL_TOKENIZATION_KEY: TEST_KEY, VIGIL_IDEMPOTENCY_CLAIM_TIMEOUT_MS: '999' }),
    ).toThrow(/VIGIL_IDEMPOTENCY_CLAIM_TIMEOUT_MS/);
  });

  it('requires a tokenisation key of 32+ characters and never echoes it', () => {
    // No key at all is the composition root's to refuse: the embedded default hands it a key store instead.
    expect(loadIngestConfig({}).tokenizationKeys).toBeUndefined();
    try {
      loadIngestConfig({ VIGIL_TOKENIZATION_KEY: 'short-secret' });
      throw new Error('expected a ConfigError');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(/VIGIL_TOKENIZATION_KEY/);
      expect((error as Error).message).not.toContain('short-secret');
    }
  });

  it('reads versioned keys: v1 from VIGIL_TOKENIZATION_KEY, later ones from VIGIL_TOKENIZATION_KEYS, newest current', () => {
    const v2 = 'v2-tokenization-key-0123456789abcdef0123';
    const keys = loadIngestConfig({
      VIGIL_TOKENIZATION_KEY: TEST_KEY,
      VIGIL_TOKENIZATION_KEYS: `v2:${v2}`,
    }).tokenizationKeys!;
    expect(keys.currentVersion).toBe('v2');
    expect(keys.keys.get('v2')?.reveal()).toBe(v2);
    // The fingerprint key stays v1's after the rotation.
    expect(keys.fingerprintKey.reveal()).toBe(TEST_KEY);
    const pinned = loadIngestConfig({
      VIGIL_TOKENIZATION_KEYS: `v1:${TEST_KEY},v2:${v2}`,
      VIGIL_TOKENIZATION_KEY_CURRENT: 'v1',
    }).tokenizationKeys!;
    expect(pinned.currentVersion).toBe('v1');
  });

  it.each([
    [{ VIGIL_TOKENIZATION_KEYS: `v2:${TEST_KEY}` }, 'VIGIL_FINGERPRINT_KEY'],
    [
      { VIGIL_TOKENIZATION_KEYS: `v1:${TEST_KEY}`, VIGIL_TOKENIZATION_KEY_CURRENT: 'v2' },
      'VIGIL_TOKENIZATION_KEY_CURRENT',
    ],
    [{ VIGIL_TOKENIZATION_KEY: TEST_KEY, VIGIL_TOKENIZATION_KEYS: `v1:${TEST_KEY}` }, 'VIGIL_TOKENIZATION_KEYS'],
    [{ VIGIL_TOKENIZATION_KEYS: TEST_KEY }, 'VIGIL_TOKENIZATION_KEYS'],
    [{ VIGIL_TOKENIZATION_KEYS: 'v2:short' }, 'VIGIL_TOKENIZATION_KEYS'],
    [{ VIGIL_TOKENIZATION_KEY_CURRENT: 'v1' }, 'VIGIL_TOKENIZATION_KEYS'],
  ])('refuses inconsistent versioned keys (%j), naming %s and never a key', (env, key) => {
    try {
      loadIngestConfig(env);
      throw new Error('expected a ConfigError');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain(key);
      expect((error as Error).message).not.toContain(TEST_KEY);
      expect((error as Error).message).not.toContain('short');
    }
  });

  it('reads the keys from files (<KEY>_FILE), as a mounted secret store provides them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-ingest-keys-'));
    const file = (name: string, text: string): string => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    const v2 = 'b'.repeat(40);
    const keySet = loadIngestConfig({
      VIGIL_TOKENIZATION_KEY_FILE: file('v1', `${TEST_KEY}\n`),
      VIGIL_TOKENIZATION_KEYS_FILE: file('later', `v2:${v2}\n`),
    }).tokenizationKeys!;
    expect([...keySet.keys].map(([version, key]) => [version, key.reveal()])).toEqual([
      ['v1', TEST_KEY],
      ['v2', v2],
    ]);
    expect(keySet.fingerprintKey.reveal()).toBe(TEST_KEY);
    expect(() =>
      loadIngestConfig({ VIGIL_TOKENIZATION_KEY: TEST_KEY, VIGIL_TOKENIZATION_KEY_FILE: file('again', TEST_KEY) }),
    ).toThrow(/either VIGIL_TOKENIZATION_KEY or VIGIL_TOKENIZATION_KEY_FILE/);
  });

  it('keeps the key out of logs and JSON', () => {
    const config = loadIngestConfig({ VIGIL_TOKENIZATION_KEY: TEST_KEY });
    expect(JSON.stringify(config, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).not.toContain(
      TEST_KEY,
    );
    expect(String(config.tokenizationKeys?.keys.get('v1'))).toBe('[secret]');
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
