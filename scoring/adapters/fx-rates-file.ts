import { ValidationError } from '../../platform/errors.js';
import { type FxRateTable, ReportingCurrency, compileFxRates } from '../domain/fx-rates.js';
import { REFERENCE_FX_RATES } from '../domain/reference-fx-rates.js';
import { type JsonDocumentKind, loadJsonDocumentFile, namingFile } from './json-document-file.js';

const FX_RATE_FILE: JsonDocumentKind = { what: 'FX rate file', unreadableCode: 'FX_RATES_UNREADABLE' };

/**
 * Reads and validates an operator's rate file (VIGIL_FX_RATES_FILE) whole; throws ValidationError
 * (FX_RATES_UNREADABLE / FX_RATES_INVALID) naming the file and every problem with its JSON-pointer path.
 */
export function loadFxRatesFile(path: string): Promise<FxRateTable> {
  return loadJsonDocumentFile(path, FX_RATE_FILE, compileFxRates);
}

/**
 * The reporting currency at the operator's rate file, or at the shipped ECB snapshot when there is none, with the
 * cash reporting thresholds (minor units per currency; default: schemas/cash-thresholds.ts). Throws like
 * {@link loadFxRatesFile}, and FX_RATES_INVALID when the table has no rate for `reportingCurrency`.
 */
export async function loadReportingCurrency(
  reportingCurrency: string,
  ratesFile: string | undefined,
  cashThresholdsMinor?: ReadonlyMap<string, bigint>,
): Promise<ReportingCurrency> {
  const table = ratesFile === undefined ? compileFxRates(REFERENCE_FX_RATES) : await loadFxRatesFile(ratesFile);
  try {
    return new ReportingCurrency(table, reportingCurrency, cashThresholdsMinor);
  } catch (error) {
    if (error instanceof ValidationError) throw namingFile(ratesFile ?? 'the shipped rate table', error);
    throw error;
  }
}
