/**
 * Structured JSON-lines logging to stderr. Loggers never receive card numbers: ingest tokenises PANs
 * before anything is logged, and `redact` below is a second line of defence for any 13–19 digit run.
 */
import { redactPans } from './pan.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const levelRank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

/** Masks anything shaped like a card number that passes the Luhn check; see `redactPans`. */
export const redact = redactPans;

export interface LoggerOptions {
  readonly level?: LogLevel;
  readonly write?: (line: string) => void;
  readonly fields?: Record<string, unknown>;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const minRank = levelRank[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const base = options.fields ?? {};
  const log = (level: LogLevel, message: string, fields?: Record<string, unknown>): void => {
    if (levelRank[level] < minRank) return;
    const line = JSON.stringify(
      { time: new Date().toISOString(), level, msg: message, ...base, ...fields },
      (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v),
    );
    write(redact(line));
  };
  return {
    debug: (m, f) => log('debug', m, f),
    info: (m, f) => log('info', m, f),
    warn: (m, f) => log('warn', m, f),
    error: (m, f) => log('error', m, f),
    child: (fields) => createLogger({ ...options, fields: { ...base, ...fields } }),
  };
}

/** A logger that drops everything; for tests. */
export const silentLogger: Logger = createLogger({ write: () => undefined });
