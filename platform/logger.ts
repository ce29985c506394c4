/**
 * Structured JSON-lines logging to stderr. Loggers never receive card numbers: ingest tokenises PANs
 * before anything is logged, and `redact` below is a second line of defence for any 13–19 digit run.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const levelRank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

// 13–19 digits, optionally grouped by spaces or dashes, starting with a card network's first digit (2–6).
const panLike = /\b[2-6](?:[ -]?\d){12,18}\b/g;

function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0;
}

/**
 * Masks anything that is shaped like a card number and passes the Luhn check (PCI DSS 3.4: PAN unreadable
 * wherever stored or logged). Epoch milliseconds and int64 amounts start with other digits or fail Luhn, so
 * they survive; a rare false positive only masks a number in a log line.
 */
export function redact(text: string): string {
  return text.replace(panLike, (match) => (luhnValid(match.replace(/[ -]/g, '')) ? '[REDACTED-PAN]' : match));
}

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
