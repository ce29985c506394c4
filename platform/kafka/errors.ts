/**
 * The Kafka adapter's error codes and the mapping from kafkajs errors to VigilError. Codes that mean the same
 * as in the embedded log (UNKNOWN_TOPIC, INVALID_TOPIC, RECORD_TOO_LARGE, …) use the same string, so stage code
 * matches on one code whichever bus runs underneath.
 */
import kafkajs from 'kafkajs';
import { ErrorCategory, VigilError } from '../errors.js';

// kafkajs is CommonJS and builds its exports with a spread, which Node's ESM loader cannot see through: only
// Kafka, logLevel, Partitioners, … are named exports at runtime. The error classes come from the default export.
const { KafkaJSError, KafkaJSProtocolError } = kafkajs;
type KafkaJSProtocolError = InstanceType<typeof KafkaJSProtocolError>;

export const KafkaBusErrorCode = {
  /** No broker answered, a request timed out, or retries ran out on a retriable broker error. Retriable. */
  unavailable: 'KAFKA_UNAVAILABLE',
  /** The topic does not exist (Vigil turns topic auto-creation off; create it with ensureTopics). */
  unknownTopic: 'UNKNOWN_TOPIC',
  /** A topic name or partition count the broker refuses. */
  invalidTopic: 'INVALID_TOPIC',
  /** A partition number outside [0, partitionCount). */
  invalidPartition: 'INVALID_PARTITION',
  /** An argument of the wrong shape (negative offset, empty group id, unknown commit mode, …). */
  invalidArgument: 'INVALID_ARGUMENT',
  /** A read outside [logStartOffset, endOffset] of a partition. */
  offsetOutOfRange: 'OFFSET_OUT_OF_RANGE',
  /** The broker refused a record or request as too large (message.max.bytes). */
  recordTooLarge: 'RECORD_TOO_LARGE',
  /** The bus was closed. */
  busClosed: 'LOG_CLOSED',
  /** commit() on a closed subscription. */
  subscriptionClosed: 'SUBSCRIPTION_CLOSED',
  /** The group generation moved on (a rebalance) before an offset commit landed; the records will be redelivered. */
  rebalanced: 'KAFKA_REBALANCED',
  /** Any other broker or client error; `retriable` follows what kafkajs says about it. */
  failed: 'KAFKA_REQUEST_FAILED',
} as const;
export type KafkaBusErrorCode = (typeof KafkaBusErrorCode)[keyof typeof KafkaBusErrorCode];

/** Kafka protocol error names (org.apache.kafka.common.protocol.Errors, as kafkajs spells them) we map specially. */
const protocolErrors: Readonly<
  Record<string, { code: KafkaBusErrorCode; category: ErrorCategory; retriable: boolean }>
> = {
  UNKNOWN_TOPIC_OR_PARTITION: {
    code: KafkaBusErrorCode.unknownTopic,
    category: ErrorCategory.notFound,
    retriable: false,
  },
  INVALID_TOPIC_EXCEPTION: {
    code: KafkaBusErrorCode.invalidTopic,
    category: ErrorCategory.invalidInput,
    retriable: false,
  },
  INVALID_PARTITIONS: { code: KafkaBusErrorCode.invalidTopic, category: ErrorCategory.invalidInput, retriable: false },
  INVALID_REPLICATION_FACTOR: {
    code: KafkaBusErrorCode.invalidTopic,
    category: ErrorCategory.invalidInput,
    retriable: false,
  },
  MESSAGE_TOO_LARGE: { code: KafkaBusErrorCode.recordTooLarge, category: ErrorCategory.tooLarge, retriable: false },
  RECORD_LIST_TOO_LARGE: { code: KafkaBusErrorCode.recordTooLarge, category: ErrorCategory.tooLarge, retriable: false },
  OFFSET_OUT_OF_RANGE: {
    code: KafkaBusErrorCode.offsetOutOfRange,
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

/**
 * Wraps anything kafkajs threw in a VigilError whose code names what went wrong and whose `retriable` flag says
 * whether the same call can succeed later. `what` names the operation for the message; `details` carry
 * topic/partition/offset so the log line says where.
 */
export function toVigilError(error: unknown, what: string, details: Record<string, unknown> = {}): VigilError {
  if (error instanceof VigilError) return error;
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
  return new VigilError(KafkaBusErrorCode.busClosed, 'the Kafka bus is closed', {
    category: ErrorCategory.unavailable,
    retriable: false,
  });
}

export function invalidArgument(
  code: KafkaBusErrorCode,
  message: string,
  details: Record<string, unknown> = {},
): VigilError {
  return new VigilError(code, message, { category: ErrorCategory.invalidInput, details });
}
