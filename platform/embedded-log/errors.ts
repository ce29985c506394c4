/** The stable error codes of the embedded log, and constructors that give each its category. */
import { ErrorCategory, UnavailableError, VigilError } from '../errors.js';

export const EmbeddedLogErrorCode = {
  /** send/subscribe/read named a topic that `ensureTopics` never created. */
  unknownTopic: 'UNKNOWN_TOPIC',
  /** A topic name or partition count that Kafka would refuse too. */
  invalidTopic: 'INVALID_TOPIC',
  /** A partition number outside [0, partitionCount). */
  invalidPartition: 'INVALID_PARTITION',
  /** An argument of the wrong shape (negative offset, empty group id, unknown commit mode, …). */
  invalidArgument: 'INVALID_ARGUMENT',
  /** A read past the end of a partition. */
  offsetOutOfRange: 'OFFSET_OUT_OF_RANGE',
  /** A record whose frame exceeds `maxRecordBytes`. */
  recordTooLarge: 'RECORD_TOO_LARGE',
  /** The log was closed; it does not come back in this process. */
  logClosed: 'LOG_CLOSED',
  /** Another live process (or another open instance here) holds the log directory. */
  logLocked: 'LOG_LOCKED',
  /** A file operation failed; retriable. */
  ioFailed: 'LOG_IO_FAILED',
  /** A partition saw a failed write or fsync and refuses appends until the log is reopened (and recovered). */
  partitionFailed: 'LOG_PARTITION_FAILED',
  /** A frame failed its CRC or structure check where no crash could have torn it. */
  corrupt: 'LOG_CORRUPT',
  /** A second subscribe with a group id that already has a member in this process. */
  groupActive: 'GROUP_ALREADY_ACTIVE',
  /** commit() on a closed subscription. */
  subscriptionClosed: 'SUBSCRIPTION_CLOSED',
} as const;
export type EmbeddedLogErrorCode = (typeof EmbeddedLogErrorCode)[keyof typeof EmbeddedLogErrorCode];

export function unknownTopic(topic: string): VigilError {
  return new VigilError(EmbeddedLogErrorCode.unknownTopic, `unknown topic "${topic}" (create it with ensureTopics)`, {
    category: ErrorCategory.notFound,
    details: { topic },
  });
}

export function invalidArgument(
  code: EmbeddedLogErrorCode,
  message: string,
  details: Record<string, unknown> = {},
): VigilError {
  return new VigilError(code, message, { category: ErrorCategory.invalidInput, details });
}

export function logClosed(): VigilError {
  return new VigilError(EmbeddedLogErrorCode.logClosed, 'the embedded log is closed', {
    category: ErrorCategory.unavailable,
    retriable: false,
  });
}

/** Wraps a failed file operation; `what` names the operation and its target for the log line. */
export function ioFailed(what: string, cause: unknown): UnavailableError {
  return new UnavailableError(EmbeddedLogErrorCode.ioFailed, `embedded log I/O failed: ${what}`, cause);
}

export function corrupt(message: string, details: Record<string, unknown>): VigilError {
  return new VigilError(EmbeddedLogErrorCode.corrupt, message, {
    category: ErrorCategory.internal,
    retriable: false,
    details,
  });
}
