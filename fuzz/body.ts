import fc from 'fast-check';
import { VigilError } from '../platform/errors.js';
import { MalformedBodyError, parseBatchBody, parseJsonBody } from '../ingest/http/body.js';
import { type FuzzTarget, defineTarget } from './target.js';

/**
 * Properties of ingest's request-body parsers (ingest/http/body.ts), the channel parsers of the API: any bytes
 * give a value, items, or a MalformedBodyError, and no message quotes the input (a card number may sit in it).
 */
export type ParseBatchBody = typeof parseBatchBody;

const ndjsonTypes = ['application/x-ndjson', 'application/jsonl', 'Application/NDJSON; charset=utf-8'];
const contentType = fc.constantFrom(undefined, 'application/json', ...ndjsonTypes);

// Bodies: JSON and NDJSON text with card numbers in it, cut anywhere, or any bytes at all.
const line = fc.oneof(
  fc.json(),
  fc.constantFrom('', '   ', '{"card":{"number":"4111111111111111"', '4111 1111 1111 1111', '[1,2', '\r'),
);
const body = fc.oneof(
  fc.array(line, { maxLength: 8 }).map((lines) => Buffer.from(lines.join('\n'), 'utf8')),
  fc.tuple(fc.json(), fc.nat()).map(([text, cut]) => Buffer.from(text.slice(0, cut % (text.length + 1)), 'utf8')),
  fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
);

const quotesDigits = (text: string): boolean => /\d{12,}/.test(text.replace(/[ -]/g, ''));

export function batchBodyTarget(parse: ParseBatchBody = parseBatchBody): FuzzTarget {
  return defineTarget('batch body parsing of any bytes', () =>
    fc.property(body, contentType, (bytes, type) => {
      let items: ReturnType<ParseBatchBody>;
      try {
        items = parse(bytes, type);
      } catch (error) {
        if (!(error instanceof MalformedBodyError)) throw new Error(`untyped error: ${String(error)}`);
        if (quotesDigits(error.message)) throw new Error(`message quotes the input: ${error.message}`);
        return;
      }
      const ndjson = ndjsonTypes.includes(type ?? '');
      if (ndjson) {
        const lines = bytes
          .toString('utf8')
          .split('\n')
          .filter((l) => l.replace(/\r$/, '').trim() !== '');
        if (items.length !== lines.length) throw new Error(`${items.length} items for ${lines.length} lines`);
      }
      for (const item of items)
        if (item.kind === 'unparseable')
          for (const problem of item.problems)
            if (quotesDigits(problem.message)) throw new Error(`problem quotes the input: ${problem.message}`);
    }),
  );
}

export function jsonBodyTarget(): FuzzTarget {
  return defineTarget('single body parsing of any bytes', () =>
    fc.property(body, (bytes) => {
      try {
        parseJsonBody(bytes);
      } catch (error) {
        if (!(error instanceof VigilError) || error.code !== 'MALFORMED_JSON')
          throw new Error(`untyped error: ${String(error)}`);
        if (quotesDigits(error.message)) throw new Error(`message quotes the input: ${error.message}`);
      }
    }),
  );
}

export const bodyTargets: readonly FuzzTarget[] = [batchBodyTarget(), jsonBodyTarget()];
