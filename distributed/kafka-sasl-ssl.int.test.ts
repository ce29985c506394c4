import { readFileSync } from 'node:fs';
import type { RecordBatch } from '../platform/bus.js';
import { Secret } from '../platform/config.js';
import { VigilError } from '../platform/errors.js';
import {
  KafkaTestContext,
  requireBroker,
  requireSaslSslListener,
  type SaslSslListener,
  waitFor,
} from '../platform/kafka/test-helpers.js';
import { createLogger } from '../platform/logger.js';
import { readKafkaSecurity } from './config.js';

async function rejection(promise: Promise<unknown>): Promise<VigilError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof VigilError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

/**
 * KafkaBus over the local broker's SASL_SSL listener (TLS with a certificate from the local CA, then SCRAM-SHA-512),
 * which infra/services.sh sets up beside the PLAINTEXT listener the rest of the suite uses. The settings are read
 * the way a distributed-mode process reads them (distributed/config.ts), from the files services.sh wrote.
 */
describe('KafkaBus over SASL_SSL', () => {
  const ctx = new KafkaTestContext();
  let listener: SaslSslListener;
  let password: string;

  beforeAll(async () => {
    await requireBroker();
    listener = await requireSaslSslListener();
    password = readFileSync(listener.passwordFile, 'utf8').trim();
  });
  afterEach(() => ctx.cleanup());

  /** The environment of a process configured for this listener, the password in a file. */
  const secureEnv = (extra: Record<string, string> = {}) => ({
    VIGIL_KAFKA_CA_FILE: listener.caFile,
    VIGIL_KAFKA_SASL_USERNAME: listener.username,
    VIGIL_KAFKA_SASL_PASSWORD_FILE: listener.passwordFile,
    ...extra,
  });

  it('sends and consumes records, authenticated by SCRAM over verified TLS, and never logs the password', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'debug', write: (line) => lines.push(line) });
    const { tls, sasl } = readKafkaSecurity(
      secureEnv({
        VIGIL_KAFKA_CLIENT_CERT_FILE: listener.clientCertFile,
        VIGIL_KAFKA_CLIENT_KEY_FILE: listener.clientKeyFile,
      }),
    );
    expect(sasl).toMatchObject({ mechanism: 'scram-sha-512', username: listener.username });
    const bus = await ctx.bus({ brokers: listener.brokers, tls: tls!, sasl: sasl!, logger });
    const topic = ctx.topic('vigil-sasl-ssl');
    await bus.ensureTopics([{ topic, partitions: 2 }]);
    const sent = ['a', 'b', 'c', 'd', 'e'].map((text) => ({ key: `k-${text}`, value: Buffer.from(text) }));
    await bus.producer().send(topic, sent);

    const received: string[] = [];
    const handler = (batch: RecordBatch): Promise<void> => {
      received.push(...batch.records.map((r) => r.value.toString()));
      return Promise.resolve();
    };
    await bus.subscribe({ groupId: ctx.group('vigil-sasl-ssl'), topics: [topic] }, handler);
    await waitFor(() => received.length >= sent.length, 'all five records consumed', 60_000);
    expect(received.sort()).toEqual(['a', 'b', 'c', 'd', 'e']);

    expect(lines.some((line) => line.includes('kafka bus connected') && line.includes('"tls":true'))).toBe(true);
    expect(lines.filter((line) => line.includes(password))).toEqual([]);
    // Negative control: the same check finds the password where it is.
    expect([...lines, `{"leaked":"${password}"}`].filter((line) => line.includes(password))).toHaveLength(1);
  });

  it('works without a client certificate (the broker asks for one but does not require it)', async () => {
    const { tls, sasl } = readKafkaSecurity(secureEnv());
    const bus = await ctx.bus({ brokers: listener.brokers, tls: tls!, sasl: sasl! });
    const topic = ctx.topic('vigil-sasl-ssl');
    await bus.ensureTopics([{ topic, partitions: 1 }]);
    expect(await bus.producer().send(topic, [{ key: null, value: Buffer.from('x') }])).toEqual([
      { topic, partition: 0, offset: 0 },
    ]);
  });

  it('refuses a wrong password at connect with a clear, non-retriable KAFKA_AUTHENTICATION_FAILED', async () => {
    const { tls, sasl } = readKafkaSecurity(secureEnv());
    const wrong = { ...sasl!, password: new Secret(`${password}-wrong`) };
    const error = await rejection(ctx.bus({ brokers: listener.brokers, tls: tls!, sasl: wrong }));
    expect(error).toMatchObject({ code: 'KAFKA_AUTHENTICATION_FAILED', category: 'unauthenticated', retriable: false });
    expect(error.message).toMatch(/refused the SASL credentials/);
    expect(error.message).not.toContain(password);
    // Control: an unknown user is refused the same way, and the right password (previous tests) is accepted.
    const stranger = { ...sasl!, username: 'nobody' };
    expect((await rejection(ctx.bus({ brokers: listener.brokers, tls: tls!, sasl: stranger }))).code).toBe(
      'KAFKA_AUTHENTICATION_FAILED',
    );
  });

  it('fails without TLS, and with TLS that does not trust the local CA', async () => {
    const { sasl } = readKafkaSecurity(secureEnv());
    const fast = { connectionTimeoutMs: 2000, requestTimeoutMs: 5000 };
    // Plaintext Kafka protocol to the TLS port: the broker never answers it.
    const plaintext = await rejection(ctx.bus({ brokers: listener.brokers, ...fast }));
    expect(plaintext).toMatchObject({ code: 'KAFKA_UNAVAILABLE' });
    // TLS with Node's trusted CAs only: the broker's certificate is from the local CA, so it is refused.
    const untrusted = await rejection(ctx.bus({ brokers: listener.brokers, tls: {}, sasl: sasl!, ...fast }));
    expect(untrusted.message).toMatch(/certificate/i);
  });
});
