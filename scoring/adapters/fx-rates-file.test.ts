import { refusal, temporaryDirectory } from '../testing/operator-files.js';
import { loadFxRatesFile, loadReportingCurrency } from './fx-rates-file.js';

describe('the operator rate file (VIGIL_FX_RATES_FILE)', () => {
  const dir = temporaryDirectory('vigil-fx-');
  const file = (content: string): string => dir.write('rates.json', content);

  test('a valid file replaces the shipped table', async () => {
    const path = file('{"source":"bank treasury","date":"2026-12-04","base":"USD","rates":{"EUR":"0.9","JPY":"150"}}');
    const reporting = await loadReportingCurrency('USD', path);
    expect([reporting.table.source, reporting.toReportingMinor(15_000n, 'JPY')]).toEqual(['bank treasury', 10_000n]);
  });

  test('a bad file is refused whole, naming the file and every path', async () => {
    const path = file('{"source":"x","date":"2026-12-04","base":"EUR","rates":{"USD":1.05,"ABC":"2"}}');
    const [code, message, paths] = await refusal(loadFxRatesFile(path));
    expect([code, message.startsWith(`${path}: `), paths]).toEqual([
      'FX_RATES_INVALID',
      true,
      ['/rates/USD', '/rates/ABC'],
    ]);
  });

  test('a file that is not JSON, and a table without the reporting currency, are refused', async () => {
    expect((await refusal(loadFxRatesFile(file('{"rates": ')))).slice(0, 1)).toEqual(['FX_RATES_UNREADABLE']);
    const noGbp = file('{"source":"x","date":"2026-12-04","base":"EUR","rates":{"USD":"1.05"}}');
    const [code, message, paths] = await refusal(loadReportingCurrency('GBP', noGbp));
    expect([code, message.startsWith(`${noGbp}: `), paths]).toEqual(['FX_RATES_INVALID', true, ['/rates/GBP']]);
  });
});
