/**
 * Money on the page: exact decimal strings from minor units by ISO 4217 exponent, with string arithmetic only (no
 * floats). The exponents come from the server's one ISO 4217 table (`/assets/currencies.json`, schemas/currencies.ts),
 * never a copy here; a code not in it is shown as exact minor units rather than guessed.
 */
export type Exponents = Readonly<Record<string, number>>;

let exponents: Exponents | undefined;

/** Loads the exponent table once; amounts are shown in minor units until it has loaded (or if it cannot). */
export async function loadExponents(): Promise<void> {
  exponents = await fetch('/assets/currencies.json')
    .then((response) => (response.ok ? (response.json() as Promise<Exponents>) : undefined))
    .catch(() => undefined);
}

/** `formatMinor('-123456', 'EUR')` → `-1,234.56 EUR`; `amountMinor` is a decimal integer string or a bigint. */
export function formatMinor(amountMinor: string | bigint, currency: string, table = exponents): string {
  const exponent = table?.[currency];
  const text = String(amountMinor);
  if (exponent === undefined || !Number.isInteger(exponent) || !/^-?\d+$/.test(text))
    return `${text} minor units ${currency}`;
  const negative = text.startsWith('-');
  const digits = (negative ? text.slice(1) : text).padStart(exponent + 1, '0');
  const whole = exponent === 0 ? digits : digits.slice(0, -exponent);
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${negative ? '-' : ''}${grouped}${exponent === 0 ? '' : '.' + digits.slice(-exponent)} ${currency}`;
}

/** A MoneyView (`{amountMinor, currency}`) as text. */
export const formatMoney = (money: { readonly amountMinor: string; readonly currency: string }): string =>
  formatMinor(money.amountMinor, money.currency);

/**
 * An amount feature (major units of `currency` — the decision's reporting currency, or its unconverted currency for an
 * `amount` that had no rate — a float the model saw rather than exact money) as text, to that currency's minor unit: `formatFeatureAmount(812.5, 'EUR')` → `812.50 EUR`,
 * `formatFeatureAmount(131337, 'JPY')` → `131,337 JPY`. Without the exponent (a code not in the table, or before it
 * loaded) the number is shown as it is, with its code.
 */
export function formatFeatureAmount(value: number, currency: string, table = exponents): string {
  const exponent = table?.[currency];
  if (exponent === undefined || !Number.isInteger(exponent) || !Number.isFinite(value)) return `${value} ${currency}`;
  const [whole = '', fraction] = Math.abs(value).toFixed(exponent).split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const negative = value < 0 && /[1-9]/.test(whole + (fraction ?? ''));
  return `${negative ? '-' : ''}${grouped}${fraction === undefined ? '' : '.' + fraction} ${currency}`;
}
