import { type FieldProblem, ValidationError } from '../../platform/errors.js';
import { type AlertCursor, decodeCursor } from '../queries/alerts.js';
import { type TimelineCursor, decodeTimelineCursor } from '../queries/timeline.js';
import { type AuditCursor, type SearchTerm, decodeAuditCursor, parseSearchText } from '../domain/audit-query.js';

/**
 * Reads and validates request parameters, collecting every problem (with its location, e.g. `/query/limit`)
 * before failing, so a caller fixes all of them in one round trip. Nothing read here ever reaches SQL as
 * text: queries bind these values as typed ClickHouse parameters.
 */
export type RawParams = Readonly<Record<string, unknown>>;

const isoDateTime = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2}))?$/;
/** Times outside 1900–2299 are typos, and DateTime64(3) holds that span comfortably. */
const MIN_TIME_MS = Date.UTC(1900, 0, 1);
const MAX_TIME_MS = Date.UTC(2299, 11, 31);

/** Ids as clients send them (transaction and account ids): 1–128 printable characters, no control characters. */
const idPattern = /^[^\p{Cc}\s]{1,128}$/u;

export class ParamReader {
  private readonly problems: FieldProblem[] = [];

  constructor(
    private readonly source: RawParams,
    private readonly location: 'query' | 'params',
  ) {}

  /** A single string value, or undefined when absent; repeated parameters are a problem. */
  private raw(name: string): string | undefined {
    const value = this.source[name];
    if (value === undefined || value === '') return undefined;
    if (typeof value !== 'string') {
      this.fail(name, 'must be given once, as a plain value');
      return undefined;
    }
    return value;
  }

  /** A positive integer no larger than `max`; `fallback` when absent. */
  limit(name: string, fallback: number, max: number): number {
    const raw = this.raw(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < 1 || value > max) {
      this.fail(name, `must be an integer from 1 to ${max}, got ${JSON.stringify(raw)}`);
      return fallback;
    }
    return value;
  }

  /**
   * A point in time as epoch ms: ISO 8601 with an explicit offset (`2026-11-24T09:00:00Z`), a date (`2026-11-24`,
   * UTC midnight) or epoch milliseconds. `fallback` when absent.
   */
  time(name: string, fallback: number): number;
  time(name: string): number | undefined;
  time(name: string, fallback?: number): number | undefined {
    const raw = this.raw(name);
    if (raw === undefined) return fallback;
    const ms = /^\d{1,15}$/.test(raw) ? Number(raw) : isoDateTime.test(raw) ? Date.parse(raw) : NaN;
    if (!Number.isFinite(ms) || ms < MIN_TIME_MS || ms > MAX_TIME_MS) {
      this.fail(
        name,
        `must be an ISO 8601 time with offset (e.g. 2026-11-24T09:00:00Z), a date or epoch ms, got ${JSON.stringify(raw)}`,
      );
      return fallback;
    }
    return ms;
  }

  /** One of `allowed` (case-insensitive, returned as spelled in `allowed`); undefined when absent. */
  oneOf<const T extends string>(name: string, allowed: readonly T[]): T | undefined {
    const raw = this.raw(name);
    if (raw === undefined) return undefined;
    const found = allowed.find((a) => a.toLowerCase() === raw.toLowerCase());
    if (found === undefined) this.fail(name, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(raw)}`);
    return found;
  }

  /** A finite decimal number in [min, max]; undefined when absent. */
  number(name: string, min: number, max: number): number | undefined {
    const raw = this.raw(name);
    if (raw === undefined) return undefined;
    const value = Number(raw);
    if (!/^-?\d+(\.\d+)?$/.test(raw) || !Number.isFinite(value) || value < min || value > max) {
      this.fail(name, `must be a decimal number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
      return undefined;
    }
    return value;
  }

  /** An id (see {@link ParamReader.id}) that may be absent. */
  optionalId(name: string): string | undefined {
    if (this.raw(name) === undefined) return undefined;
    return this.id(name);
  }

  /** A transaction or account id; a problem when absent. */
  id(name: string): string {
    const raw = this.raw(name);
    if (raw === undefined || !idPattern.test(raw)) {
      this.fail(name, 'must be 1–128 printable characters without spaces');
      return '';
    }
    return raw;
  }

  /** Any string matching `pattern`; undefined when absent. */
  matching(name: string, pattern: RegExp, description: string): string | undefined {
    const raw = this.raw(name);
    if (raw === undefined) return undefined;
    if (!pattern.test(raw)) {
      this.fail(name, `must be ${description}, got ${JSON.stringify(raw)}`);
      return undefined;
    }
    return raw;
  }

  /** Custom checks that span parameters (e.g. from < to). */
  fail(name: string, message: string): void {
    this.problems.push({ path: `/${this.location}/${name}`, message });
  }

  /** Throws a ValidationError listing every problem found so far. */
  done(): void {
    if (this.problems.length > 0)
      throw new ValidationError(
        `invalid ${this.location === 'query' ? 'query parameters' : 'path parameters'}`,
        this.problems,
      );
  }
}

/** Checks `from` < `to` and that the span is at most `maxDays`. */
export function checkTimeRange(reader: ParamReader, fromMs: number, toMs: number, maxDays: number): void {
  if (fromMs >= toMs) reader.fail('from', 'must be before to');
  else if (toMs - fromMs > maxDays * 86_400_000) reader.fail('from', `range must span at most ${maxDays} days`);
}

/** Reads the alert-list cursor; a problem on `/query/<name>` when it is not one this server issued. */
export function readCursor(reader: ParamReader, name: string): AlertCursor | undefined {
  const raw = reader.matching(name, /^[A-Za-z0-9_-]{1,400}$/, 'a cursor returned as nextCursor');
  if (raw === undefined) return undefined;
  const cursor = decodeCursor(raw);
  if (cursor === undefined) reader.fail(name, 'is not a cursor returned as nextCursor');
  return cursor;
}

/** Reads a case timeline's cursor; a problem on `/query/<name>` when it is not one this server issued. */
export function readTimelineCursor(reader: ParamReader, name: string): TimelineCursor | undefined {
  const raw = reader.matching(name, /^[A-Za-z0-9_-]{1,400}$/, 'a cursor returned as nextCursor');
  if (raw === undefined) return undefined;
  const cursor = decodeTimelineCursor(raw);
  if (cursor === undefined) reader.fail(name, 'is not a cursor returned as nextCursor');
  return cursor;
}

/** Reads the audit-search cursor; a problem on `/query/<name>` when it is not one this server issued. */
export function readAuditCursor(reader: ParamReader, name: string): AuditCursor | undefined {
  const raw = reader.matching(name, /^[A-Za-z0-9_-]{1,400}$/, 'a cursor returned as nextCursor');
  if (raw === undefined) return undefined;
  const cursor = decodeAuditCursor(raw);
  if (cursor === undefined) reader.fail(name, 'is not a cursor returned as nextCursor');
  return cursor;
}

export const MAX_SEARCH_TEXT_CHARS = 200;
export const MAX_SEARCH_TERMS = 8;

/** Reads free search text: at most 200 characters and 8 terms, no control characters. */
export function readSearchText(reader: ParamReader, name: string): SearchTerm[] {
  const raw = reader.matching(
    name,
    new RegExp(`^[^\\p{Cc}]{1,${MAX_SEARCH_TEXT_CHARS}}$`, 'u'),
    `text of at most ${MAX_SEARCH_TEXT_CHARS} characters without control characters`,
  );
  if (raw === undefined) return [];
  const terms = parseSearchText(raw);
  if (terms.length > MAX_SEARCH_TERMS)
    reader.fail(name, `must hold at most ${MAX_SEARCH_TERMS} terms, got ${terms.length}`);
  return terms.slice(0, MAX_SEARCH_TERMS);
}
