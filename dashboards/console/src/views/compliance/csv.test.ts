import { describe, expect, it } from '@jest/globals';
import { parse } from 'csv-parse/sync';
import { csvText, safeCell } from './csv.js';

describe('the compliance views’ CSV', () => {
  it('prefixes a quote to every cell a spreadsheet would run as a formula (OWASP CSV injection)', () => {
    expect(['=1+1', '+1', '-cmd|x', '@SUM(A1)', '\tx', '\rx'].map(safeCell)).toEqual([
      "'=1+1",
      "'+1",
      "'-cmd|x",
      "'@SUM(A1)",
      "'\tx",
      "'\rx",
    ]);
  });

  it('leaves exact amounts, counts and plain text as they are', () => {
    expect(['-12.50', '-3', '0.01', '42', 'tx-1', 'a=b', ''].map(safeCell)).toEqual([
      '-12.50',
      '-3',
      '0.01',
      '42',
      'tx-1',
      'a=b',
      '',
    ]);
    expect([safeCell(7), safeCell(null)]).toEqual(['7', '']);
  });

  it('quotes commas, quotes and line breaks, so a reader gets the cells back exactly', () => {
    const rows = [['a,b', 'say "hi"', 'two\nlines', '=HYPERLINK("http://x")', '-9.99']];
    const text = csvText(['one', 'two', 'three', 'four', 'five'], rows);
    expect(parse(text)).toEqual([
      ['one', 'two', 'three', 'four', 'five'],
      ['a,b', 'say "hi"', 'two\nlines', `'=HYPERLINK("http://x")`, '-9.99'],
    ]);
  });
});
