import { readFile } from 'node:fs/promises';
import { ValidationError } from '../../platform/errors.js';
import { type FxRateTable, ReportingCurrency, compileFxRates } from '../domain/fx-rates.js';
import { REFERENCE_FX_RATES } from '../domain/reference-fx-rates.js';

/**
 * Reads and validates an operator's rate file (VIGIL_FX_RATES_FILE) whole; throws ValidationError
 * (FX_RATES_UNREADABLE / FX_RATES_INVALID) naming the file and every problem with its JSON-pointer path.
 */
export async function loadFxRatesFile(path: string): Promise<FxRateTable> {
  let document: unknown;
  try {
    document = JSON.parse(await readFile(path, 'utf8'));
  } catch (cause) {
    throw new ValidationError(
      `FX rate file ${path} is not readable JSON: ${(cause as Error).message}`,
      [{ path: '', message: (cause as Error).message }],
      'FX_RATES_UNREADABLE',
    );
  }
  try {
    return compileFxRates(document);
  } catch (error) {
    if (error instanceof ValidationError) throw inFile(path, error);
    throw error;
  }
}

/**
 * The reporting currency at the operator's rate file, or at the shipped ECB snapshot when there is none. Throws
 * like {@link loadFxRatesFile}, and FX_RATES_INVALID when the table has no rate for `reportingCurrency`.
 */
export async function loadReportingCurrency(
  reportingCurrency: string,
  ratesFile: string | undefined,
): Promise<ReportingCurrency> {
  const table = ratesFile === undefined ? compileFxRates(REFERENCE_FX_RATES) : await loadFxRatesFile(ratesFile);
  try {
    return new ReportingCurrency(table, reportingCurrency);
  } catch (error) {
    if (error instanceof ValidationError) throw inFile(ratesFile ?? 'the shipped rate table', error);
    throw error;
  }
}

function inFile(path: string, error: ValidationError): ValidationError {
  return new ValidationError(
    `${path}: ${error.message}: ${error.problems.map((p) => `${p.path} ${p.message}`).join('; ')}`,
    error.problems,
    error.code,
  );
}
