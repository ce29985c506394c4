import kafkajs from 'kafkajs';
import { VigilError } from '../errors.js';
import { needsNewProducer, toVigilError } from './errors.js';

const {
  KafkaJSConnectionError,
  KafkaJSError,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
  KafkaJSSASLAuthenticationError,
} = kafkajs;

const protocolError = (type: string, code: number, retriable: boolean): InstanceType<typeof KafkaJSProtocolError> =>
  new KafkaJSProtocolError({ type, code, retriable, message: `broker says ${type}` } as unknown as Error);

function nonRetriableWrapping(cause: Error): Error {
  return Object.assign(new KafkaJSNonRetriableError(cause), { cause });
}

describe('toVigilError', () => {
  it.each([
    ['UNKNOWN_TOPIC_OR_PARTITION', 3, true, 'UNKNOWN_TOPIC', false],
    ['MESSAGE_TOO_LARGE', 10, false, 'RECORD_TOO_LARGE', false],
    ['INVALID_PARTITIONS', 37, false, 'INVALID_TOPIC', false],
    ['REBALANCE_IN_PROGRESS', 27, false, 'KAFKA_REBALANCED', true],
    ['NOT_LEADER_OR_FOLLOWER', 6, true, 'KAFKA_UNAVAILABLE', true],
    ['TOPIC_AUTHORIZATION_FAILED', 29, false, 'KAFKA_REQUEST_FAILED', false],
  ])(
    'maps protocol error %s (also when wrapped by exhausted retries) to %s',
    (type, code, kafkaRetriable, expectedCode, retriable) => {
      const direct = protocolError(type, code, kafkaRetriable);
      const wrapped = new KafkaJSNumberOfRetriesExceeded(direct, { retryCount: 5, retryTime: 100 });
      for (const error of [direct, wrapped]) {
        const mapped = toVigilError(error, 'sending', { topic: 't' });
        expect(mapped).toBeInstanceOf(VigilError);
        expect(mapped).toMatchObject({ code: expectedCode, retriable, details: { topic: 't', kafkaError: type } });
        expect(mapped.cause).toBe(error);
      }
    },
  );

  it('treats connection loss and timeouts as retriable unavailability', () => {
    for (const error of [
      new KafkaJSConnectionError('Connection refused'),
      new KafkaJSNumberOfRetriesExceeded(new KafkaJSConnectionError('ECONNREFUSED'), {
        retryCount: 8,
        retryTime: 2000,
      }),
      // What kafkajs's retrier throws when a connection error ends its retries during a broker restart (seen
      // in the broker-restart test under load): the wrapper says "non-retriable", its cause says "unreachable".
      nonRetriableWrapping(new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092')),
    ]) {
      expect(toVigilError(error, 'connecting')).toMatchObject({
        code: 'KAFKA_UNAVAILABLE',
        category: 'unavailable',
        retriable: true,
      });
    }
  });

  it('reports refused SASL credentials as non-retriable KAFKA_AUTHENTICATION_FAILED, also when wrapped', () => {
    // kafkajs's typings declare no constructor argument; at runtime it takes the message, as scram.js passes it.
    const SaslError = KafkaJSSASLAuthenticationError as unknown as new (message: string) => Error;
    const refused = new SaslError('SASL SCRAM SHA512 authentication failed: Invalid password');
    for (const error of [refused, nonRetriableWrapping(refused)]) {
      expect(toVigilError(error, 'connecting')).toMatchObject({
        code: 'KAFKA_AUTHENTICATION_FAILED',
        category: 'unauthenticated',
        retriable: false,
      });
    }
  });

  it('keeps VigilErrors and marks unknown failures non-retriable', () => {
    const own = new VigilError('INTERNAL', 'x');
    expect(toVigilError(own, 'anything')).toBe(own);
    // Negative control for the cause walk: a non-retriable wrapper of a non-connection failure stays non-retriable.
    expect(toVigilError(nonRetriableWrapping(new KafkaJSError('odd', { retriable: false })), 'doing')).toMatchObject({
      code: 'KAFKA_REQUEST_FAILED',
      retriable: false,
    });
    expect(toVigilError(new KafkaJSError('odd', { retriable: false }), 'doing')).toMatchObject({
      code: 'KAFKA_REQUEST_FAILED',
      retriable: false,
    });
    expect(toVigilError(new TypeError('bug'), 'doing')).toMatchObject({
      code: 'KAFKA_REQUEST_FAILED',
      retriable: false,
      category: 'internal',
    });
  });
});

describe('needsNewProducer', () => {
  it('is true for a lost idempotent-producer sequence, also when kafkajs wraps it after its retries', () => {
    const outOfOrder = protocolError('OUT_OF_ORDER_SEQUENCE_NUMBER', 45, false);
    expect(needsNewProducer(outOfOrder)).toBe(true);
    expect(needsNewProducer(new KafkaJSNumberOfRetriesExceeded(outOfOrder, { retryCount: 5, retryTime: 100 }))).toBe(
      true,
    );
    expect(needsNewProducer(protocolError('UNKNOWN_PRODUCER_ID', 59, false))).toBe(true);
  });

  it('is false for other protocol errors and for connection failures', () => {
    expect(needsNewProducer(protocolError('MESSAGE_TOO_LARGE', 10, false))).toBe(false);
    expect(needsNewProducer(protocolError('NOT_LEADER_FOR_PARTITION', 6, true))).toBe(false);
    expect(needsNewProducer(new Error('ECONNREFUSED'))).toBe(false);
  });
});
