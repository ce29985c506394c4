import { ErrorCategory, type FieldProblem, VigilError } from '../../platform/errors.js';
import type { IntakeItem } from '../app/ingestor.js';

/**
 * Request bodies are read as raw bytes and parsed here rather than by express.json(): V8's JSON.parse messages
 * quote the input around the error ("Unexpected token 'x', "x4111…" is not valid JSON"), and a malformed body
 * may be exactly where a card number sits. These messages only ever say where the error is.
 */
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

export class MalformedBodyError extends VigilError {
  constructor(message: string, problems: readonly FieldProblem[] = []) {
    super('MALFORMED_JSON', message, { category: ErrorCategory.invalidInput, problems });
  }
}

/** The body as text; throws MalformedBodyError when it is empty or not UTF-8. */
export function bodyText(body: unknown): string {
  if (!Buffer.isBuffer(body) || body.length === 0) throw new MalformedBodyError('request body is empty');
  try {
    return utf8.decode(body);
  } catch {
    throw new MalformedBodyError('request body is not valid UTF-8');
  }
}

export type JsonParse =
  { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly message: string };

/** JSON.parse with a message that names the position of the error and nothing of the input. */
export function parseJson(text: string): JsonParse {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    const position = /at position (\d+)/.exec(error instanceof Error ? error.message : '')?.[1];
    return {
      ok: false,
      message: position === undefined ? 'is not valid JSON' : `is not valid JSON (error at character ${position})`,
    };
  }
}

/** The single route's body: one JSON value. */
export function parseJsonBody(body: unknown): unknown {
  const parsed = parseJson(bodyText(body));
  if (!parsed.ok) throw new MalformedBodyError(`request body ${parsed.message}`);
  return parsed.value;
}

/** True for the NDJSON media types (`application/x-ndjson`, and the `jsonl`/`ndjson` spellings in use). */
export function isNdjson(contentType: string | undefined): boolean {
  const mediaType = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return [
    'application/x-ndjson',
    'application/ndjson',
    'application/jsonl',
    'application/x-jsonlines',
    'application/jsonlines',
  ].includes(mediaType);
}

/**
 * The batch route's items. JSON: the body must be an array (else the whole request is malformed). NDJSON: one
 * item per non-blank line; a line that does not parse becomes an `unparseable` item, so the rest still count.
 */
export function parseBatchBody(body: unknown, contentType: string | undefined): IntakeItem[] {
  const text = bodyText(body);
  if (!isNdjson(contentType)) {
    const parsed = parseJson(text);
    if (!parsed.ok) throw new MalformedBodyError(`request body ${parsed.message}`);
    if (!Array.isArray(parsed.value))
      throw new MalformedBodyError(
        'a batch body must be a JSON array of transactions (or NDJSON with Content-Type: application/x-ndjson)',
      );
    return parsed.value.map((item: unknown) => ({ kind: 'parsed', body: item }));
  }
  const items: IntakeItem[] = [];
  text.split('\n').forEach((rawLine, i) => {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (line.trim() === '') return;
    const parsed = parseJson(line);
    items.push(
      parsed.ok
        ? { kind: 'parsed', body: parsed.value }
        : { kind: 'unparseable', problems: [{ path: '', message: `line ${i + 1} ${parsed.message}` }] },
    );
  });
  return items;
}
