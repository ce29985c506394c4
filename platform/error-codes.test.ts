import { EmbeddedLogErrorCode } from './embedded-log/errors.js';
import { BusErrorCode, type ErrorCodeEntry, errorCatalogue, isErrorCode } from './error-codes.js';
import { ErrorCategory, UnavailableError, ValidationError, VigilError } from './errors.js';
import { problemFor, problemTypeFor, problemTypePage } from './http.js';
import { KafkaBusErrorCode } from './kafka/errors.js';

const categories = new Set<string>(Object.values(ErrorCategory));

/** Why an entry fails the catalogue's contract: an operator must be able to read what a code means. */
function entryProblems(code: string, entry: ErrorCodeEntry): string[] {
  const problems: string[] = [];
  if (!/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/.test(code)) problems.push(`${code}: not an UPPER_SNAKE code`);
  if (!categories.has(entry.category)) problems.push(`${code}: unknown category ${String(entry.category)}`);
  if (entry.meaning.trim().length === 0) problems.push(`${code}: empty meaning`);
  else if (!/[.!?]$/.test(entry.meaning.trim())) problems.push(`${code}: meaning is not a finished sentence`);
  return problems;
}

describe('the error-code catalogue', () => {
  const entries = Object.entries(errorCatalogue) as Array<[string, ErrorCodeEntry]>;

  it('gives every code a category and a non-empty one-sentence meaning', () => {
    expect(entries.length).toBeGreaterThan(70);
    expect(entries.flatMap(([code, entry]) => entryProblems(code, entry))).toEqual([]);
  });

  it('negative control: the check catches an empty meaning, an unknown category and a bad code', () => {
    expect(entryProblems('FINE_CODE', { category: 'internal', meaning: '  ' })).toEqual(['FINE_CODE: empty meaning']);
    expect(entryProblems('FINE_CODE', { category: 'bogus' as ErrorCategory, meaning: 'Something.' })).toEqual([
      'FINE_CODE: unknown category bogus',
    ]);
    expect(entryProblems('lower-case', { category: 'internal', meaning: 'Something.' })).toEqual([
      'lower-case: not an UPPER_SNAKE code',
    ]);
  });

  it('holds every bus code, shared and adapter-only, and each exactly once', () => {
    const busCodes = [
      ...Object.values(BusErrorCode),
      ...Object.values(KafkaBusErrorCode),
      ...Object.values(EmbeddedLogErrorCode),
    ];
    expect(busCodes.filter((code) => !isErrorCode(code))).toEqual([]);
    expect(new Set(busCodes).size).toBe(busCodes.length);
  });

  it('knows its own codes and nothing else', () => {
    expect(isErrorCode('UNKNOWN_TOPIC')).toBe(true);
    expect(isErrorCode('UNKNOWN_TOPICS')).toBe(false);
    // Inherited object keys are not codes.
    expect(isErrorCode('toString')).toBe(false);
  });

  it('rejects a code outside the catalogue at typecheck', () => {
    // @ts-expect-error a misspelt code does not type-check (this line fails `tsc` if VigilError took any string)
    const typo = new VigilError('UNKNOWN_TOPICS', 'x');
    // …and if one slips through at runtime (a cast, plain JS) the error is still built, as an internal one.
    expect(typo).toMatchObject({ code: 'UNKNOWN_TOPICS', category: 'internal', retriable: false });
  });

  it('supplies the category (and so retriability) a throw site leaves out', () => {
    expect(new VigilError('TRANSACTION_NOT_FOUND', 'x')).toMatchObject({ category: 'not_found', retriable: false });
    expect(new VigilError('TOO_MANY_LIVE_CLIENTS', 'x')).toMatchObject({ category: 'unavailable', retriable: true });
    // What the throw site says still wins, as before the catalogue.
    expect(new VigilError('LOG_CLOSED', 'x', { retriable: false })).toMatchObject({
      category: 'unavailable',
      retriable: false,
    });
    expect(new ValidationError('x', [], 'RULES_INVALID')).toMatchObject({ category: 'invalid_input' });
    expect(new UnavailableError('MODEL_UNAVAILABLE', 'x')).toMatchObject({ category: 'unavailable', retriable: true });
  });

  it("points a problem's type at the page for its code, which repeats the catalogue entry", () => {
    const problem = problemFor(new VigilError('UNKNOWN_TOPIC', 'unknown topic "x"'));
    expect(problem).toMatchObject({ type: '/problems/UNKNOWN_TOPIC', code: 'UNKNOWN_TOPIC', status: 404 });
    expect(problemTypeFor('UNKNOWN_TOPIC')).toBe(problem.type);
    expect(problemTypePage('UNKNOWN_TOPIC')).toEqual({
      code: 'UNKNOWN_TOPIC',
      category: 'not_found',
      status: 404,
      meaning: errorCatalogue.UNKNOWN_TOPIC.meaning,
    });
  });
});
