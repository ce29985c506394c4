import { VigilError } from '../../platform/errors.js';
import { toDateTime64Text } from './clickhouse-store.js';

describe('toDateTime64Text', () => {
  it.each([
    [1_764_000_000_050, '2025-11-24 16:00:00.050'],
    [0, '1970-01-01 00:00:00.000'],
    [-1, '1969-12-31 23:59:59.999'],
    [Date.UTC(1900, 0, 1), '1900-01-01 00:00:00.000'],
    [Date.UTC(2299, 11, 31, 23, 59, 59, 999), '2299-12-31 23:59:59.999'],
  ])('given epoch ms %d, then it writes the UTC text %s', (ms, text) => {
    expect(toDateTime64Text(ms)).toBe(text);
  });

  it.each([Date.UTC(2300, 0, 1), Date.UTC(1899, 11, 31, 23, 59, 59, 999), 1.5, Number.NaN])(
    'given %d, then it refuses with TIME_NOT_STORABLE',
    (ms) => {
      let caught: unknown;
      try {
        toDateTime64Text(ms);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(VigilError);
      expect((caught as VigilError).code).toBe('TIME_NOT_STORABLE');
    },
  );
});
