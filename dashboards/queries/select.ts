import { type ClickHouseClient, ClickHouseError } from '@clickhouse/client';
import { UnavailableError, VigilError } from '../../platform/errors.js';

/**
 * Runs one parameterised SELECT and returns its rows. Every value from a request is bound through
 * `query_params` (`{name:Type}` placeholders, typed and escaped by ClickHouse), never spliced into the text.
 * A query ClickHouse rejects is a bug (internal); anything else (connection, timeout) is retriable.
 */
export async function selectRows<Row>(
  clickhouse: ClickHouseClient,
  query: string,
  params: Record<string, unknown> = {},
): Promise<Row[]> {
  try {
    const result = await clickhouse.query({ query, query_params: params, format: 'JSONEachRow' });
    return await result.json<Row>();
  } catch (cause) {
    if (cause instanceof ClickHouseError)
      throw new VigilError('REPORT_QUERY_FAILED', `ClickHouse rejected a dashboards query: ${cause.message}`, {
        cause,
      });
    throw new UnavailableError('REPORT_STORE_UNAVAILABLE', 'the report store (ClickHouse) is unavailable', cause);
  }
}

/** Epoch ms → ISO 8601 (UTC). */
export const isoTime = (ms: number | string): string => new Date(Number(ms)).toISOString();

/** ClickHouse stores absent optional text as ''; responses say null. */
export const orNull = (text: string): string | null => (text === '' ? null : text);

/**
 * Parses stored JSON without losing integer precision: integer literals too long to be exact as JS numbers
 * (16+ digits, e.g. amounts in minor units above 2^53) become decimal strings; digits after a decimal point or in
 * an exponent are part of a float and left alone. Returns null for empty text
 * and the raw text under `{ unparsed }` if it is not JSON at all.
 */
export function parseStoredJson(text: string): unknown {
  if (text === '') return null;
  const exact = text.replace(
    /("(?:[^"\\]|\\.)*")|(?<![\d.eE+-])(-?\d{16,})(?![\d.eE])/g,
    (match: string, quoted: string | undefined) => (quoted !== undefined ? match : `"${match}"`),
  );
  try {
    return JSON.parse(exact) as unknown;
  } catch {
    return { unparsed: text };
  }
}

/** An opaque paging cursor: the values that place a page, as base64url JSON. Clients pass it back untouched. */
export function encodeCursorValues(values: readonly unknown[]): string {
  return Buffer.from(JSON.stringify(values), 'utf8').toString('base64url');
}

/**
 * The `length` values {@link encodeCursorValues} put in `text`, or undefined when `text` is not such a cursor (not
 * base64url JSON, not an array, or another length); the caller checks each value's type.
 */
export function decodeCursorValues(text: string, length: number): unknown[] | undefined {
  try {
    const decoded: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    return Array.isArray(decoded) && decoded.length === length ? decoded : undefined;
  } catch {
    // Not base64url JSON: not one of ours, reported by the caller as bad input.
    return undefined;
  }
}
