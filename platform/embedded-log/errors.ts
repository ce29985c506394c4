/**
 * The embedded log's own error codes, and constructors that give each its category. Codes it shares with the Kafka
 * adapter are BusErrorCode (platform/error-codes.ts).
 */
import { BusErrorCode, type ErrorCode } from '../error-codes.js';
import { ErrorCategory, UnavailableError, VigilError } from '../errors.js';

/** Codes only the embedded log throws; their meanings are in the catalogue (platform/error-codes.ts). */
export const EmbeddedLogErrorCode = {
  logLocked: 'LOG_LOCKED',
  ioFailed: 'LOG_IO_FAILED',
  partitionFailed: 'LOG_PARTITION_FAILED',
  diskFull: 'LOG_DISK_FULL',
  corrupt: 'LOG_CORRUPT',
  groupActive: 'GROUP_ALREADY_ACTIVE',
} as const satisfies Readonly<Record<string, ErrorCode>>;
export type EmbeddedLogErrorCode = (typeof EmbeddedLogErrorCode)[keyof typeof EmbeddedLogErrorCode];

export function unknownTopic(topic: string): VigilError {
  return new VigilError(BusErrorCode.unknownTopic, `unknown topic "${topic}" (create it with ensureTopics)`, {
    category: ErrorCategory.notFound,
    details: { topic },
  });
}

export function invalidArgument(
  code: BusErrorCode,
  message: string,
  details: Record<string, unknown> = {},
): VigilError {
  return new VigilError(code, message, { category: ErrorCategory.invalidInput, details });
}

export function logClosed(): VigilError {
  return new VigilError(BusErrorCode.busClosed, 'the embedded log is closed', {
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
