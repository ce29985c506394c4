/**
 * The Kafka adapter's own error codes and the mapping from kafkajs errors to VigilError. Codes that mean the same
 * as in the embedded log (UNKNOWN_TOPIC, INVALID_TOPIC, RECORD_TOO_LARGE, …) are BusErrorCode, defined once in the
 * catalogue, so stage code matches on one code whichever bus runs underneath.
 */
import kafkajs from 'kafkajs';
import { BusErrorCode, type ErrorCode } from '../error-codes.js';
import { ErrorCategory, VigilError } from '../errors.js';

// kafkajs is CommonJS and builds its exports with a spread, which Node's ESM loader cannot see through: only
// Kafka, logLevel, Partitioners, … are named exports at runtime. The error classes come from the default export.
const { KafkaJSError, KafkaJSProtocolError } = kafkajs;
type KafkaJSProtocolError = InstanceType<typeof KafkaJSProtocolError>;

/** Codes only the Kafka adapter throws; their meanings are in the catalogue (platform/error-codes.ts). */
export const KafkaBusErrorCode = {
  unavailable: 'KAFKA_UNAVAILABLE',
  rebalanced: 'KAFKA_REBALANCED',
  failed: 'KAFKA_REQUEST_FAILED',
  authenticationFailed: 'KAFKA_AUTHENTICATION_FAILED',
} as const satisfies Readonly<Record<string, ErrorCode>>;
export type KafkaBusErrorCode = (typeof KafkaBusErrorCode)[keyof typeof KafkaBusErrorCode];

/** Kafka protocol error names (org.apache.kafka.common.protocol.Errors, as kafkajs spells them) we map specially. */
const protocolErrors: Readonly<
  Record<string, { code: KafkaBusErrorCode | BusErrorCode; category: ErrorCategory; retriable: boolean }>
> = {
  UNKNOWN_TOPIC_OR_PARTITION: {
    code: BusErrorCode.unknownTopic,
    category: ErrorCategory.notFound,
    retriable: false,
  },
  INVALID_TOPIC_EXCEPTION: {
    code: BusErrorCode.invalidTopic,
    category: ErrorCategory.invalidInput,
    retriable: false,
  },
  INVALID_PARTITIONS: { code: BusErrorCode.invalidTopic, category: ErrorCategory.invalidInput, retriable: false },
  INVALID_REPLICATION_FACTOR: {
    code: BusErrorCode.invalidTopic,
    category: ErrorCategory.invalidInput,
    retriable: false,
  },
  MESSAGE_TOO_LARGE: { code: BusErrorCode.recordTooLarge, category: ErrorCategory.tooLarge, retriable: false },
  RECORD_LIST_TOO_LARGE: { code: BusErrorCode.recordTooLarge, category: ErrorCategory.tooLarge, retriable: false },
  OFFSET_OUT_OF_RANGE: {
    code: BusErrorCode.offsetOutOfRange,
    category: ErrorCategory.invalidInput,
    retriable: false,
  },
  ILLEGAL_GENERATION: { code: KafkaBusErrorCode.rebalanced, category: ErrorCategory.conflict, retriable: true },
  REBALANCE_IN_PROGRESS: { code: KafkaBusErrorCode.rebalanced, category: ErrorCategory.conflict, retriable: true },
  UNKNOWN_MEMBER_ID: { code: KafkaBusErrorCode.rebalanced, category: ErrorCategory.conflict, retriable: true },
};

/** kafkajs error classes that mean "no usable broker right now", whatever their own `retriable` flag says. */
const unavailableNames = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSBrokerNotFound',
  'KafkaJSLockTimeout',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTimeout',
]);

/** The innermost protocol error of a kafkajs error chain (retries wrap the last failure as `cause`). */
function protocolCause(error: unknown): KafkaJSProtocolError | undefined {
  for (
    let current: unknown = error, depth = 0;
    current instanceof Error && depth < 8;
    current = current.cause, depth++
  ) {
    if (current instanceof KafkaJSProtocolError) return current;
  }
  return undefined;
}

/**
 * Protocol errors that mean the idempotent producer's sequence state no longer matches the broker's (seen after a
 * broker restart, when a request's outcome was lost): no retry with the same producer can succeed, a new producer
 * id can. Idempotence does not span the two producers, so a record may then be written twice (at-least-once).
 */
const brokenProducerState = new Set(['OUT_OF_ORDER_SEQUENCE_NUMBER', 'UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_EPOCH']);

/** True when `error` (or one it wraps) needs a new producer before a send can succeed again. */
export function needsNewProducer(error: unknown): boolean {
  const protocol = protocolCause(error);
  return protocol !== undefined && brokenProducerState.has(protocol.type);
}

/**
 * True when a kafkajs error, or one it wraps, says the broker is out of reach. kafkajs wraps the last connection
 * failure in a KafkaJSNonRetriableError once its own retries are spent (seen during a broker restart); that is
 * still "unavailable", and the caller may try again later.
 */
function isOutOfReach(error: unknown): boolean {
  for (
    let current: unknown = error, depth = 0;
    current instanceof KafkaJSError && depth < 8;
    current = current.cause, depth++
  ) {
    if (unavailableNames.has(current.name) || current.retriable) return true;
  }
  return false;
}

/** True when a kafkajs error, or one it wraps, is a SASL authentication refusal. */
function isAuthenticationFailure(error: unknown): boolean {
  for (
    let current: unknown = error, depth = 0;
    current instanceof Error && depth < 8;
    current = current.cause, depth++
  ) {
    if (current.name === 'KafkaJSSASLAuthenticationError') return true;
  }
  return false;
}

/**
 * Wraps anything kafkajs threw in a VigilError whose code names what went wrong and whose `retriable` flag says
 * whether the same call can succeed later. `what` names the operation for the message; `details` carry
 * topic/partition/offset so the log line says where.
 */
export function toVigilError(error: unknown, what: string, details: Record<string, unknown> = {}): VigilError {
  if (error instanceof VigilError) return error;
  // Checked first: kafkajs wraps the refusal in retry errors, and the same credentials are refused again.
  if (isAuthenticationFailure(error)) {
    return new VigilError(
      KafkaBusErrorCode.authenticationFailed,
      `${what}: the brokers refused the SASL credentials (${error instanceof Error ? error.message : String(error)})`,
      { category: ErrorCategory.unauthenticated, retriable: false, cause: error, details },
    );
  }
  const protocol = protocolCause(error);
  const mapped = protocol === undefined ? undefined : protocolErrors[protocol.type];
  const reason = error instanceof Error ? error.message : String(error);
  if (mapped !== undefined) {
    return new VigilError(mapped.code, `${what}: ${reason}`, {
      category: mapped.category,
      retriable: mapped.retriable,
      cause: error,
      details: { ...details, kafkaError: protocol!.type },
    });
  }
  // A broker error decides by its own retriability, even when wrapped by exhausted retries; a client-side failure
  // (connection, timeout) means the broker is out of reach.
  const unavailable = protocol !== undefined ? protocol.retriable : isOutOfReach(error);
  const kafkaError = protocol === undefined ? {} : { kafkaError: protocol.type };
  if (unavailable) {
    return new VigilError(KafkaBusErrorCode.unavailable, `${what}: Kafka unavailable (${reason})`, {
      category: ErrorCategory.unavailable,
      retriable: true,
      cause: error,
      details: { ...details, ...kafkaError },
    });
  }
  return new VigilError(KafkaBusErrorCode.failed, `${what}: ${reason}`, {
    category: ErrorCategory.internal,
    retriable: false,
    cause: error,
    details: { ...details, ...kafkaError },
  });
}

export function busClosed(): VigilError {
  return new VigilError(BusErrorCode.busClosed, 'the Kafka bus is closed', {
    category: ErrorCategory.unavailable,
    retriable: false,
  });
}

export function invalidArgument(
  code: BusErrorCode,
  message: string,
  details: Record<string, unknown> = {},
): VigilError {
  return new VigilError(code, message, { category: ErrorCategory.invalidInput, details });
}
