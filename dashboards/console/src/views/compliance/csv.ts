// The browser build: the package's default one needs Node's Buffer, which a page does not have.
import { stringify } from 'csv-stringify/browser/esm/sync';

/** An exact decimal number as the API writes amounts and counts (`-12.50`, `3`): data, never a formula. */
const DECIMAL = /^-?\d+(\.\d+)?$/;

/**
 * A cell as a spreadsheet may safely open it: text starting with `=`, `+`, `-`, `@`, a tab or a carriage return gets a
 * leading `'`, as OWASP's CSV-injection advice says, so a crafted description or merchant id cannot run as a formula.
 * Exact decimal numbers (a negative amount) are left as they are.
 */
export function safeCell(value: string | number | null): string {
  const text = value === null ? '' : String(value);
  return /^[=+\-@\t\r]/.test(text) && !DECIMAL.test(text) ? `'${text}` : text;
}

/** The header and the rows as CSV (RFC 4180 quoting by csv-stringify, one line per row), every cell made safe. */
export function csvText(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number | null>>): string {
  return stringify([header.map(safeCell), ...rows.map((row) => row.map(safeCell))]);
}

/** Has the browser save `text` as `filename` (a download, nothing leaves the page). */
export function downloadText(filename: string, text: string, type = 'text/csv;charset=utf-8'): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  // The download has its own copy once click() returned; the URL is not needed after this task.
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

/** `2026-12-07T13:00` (a datetime-local input, the browser's time zone) → ISO 8601 UTC; '' → undefined. */
export const isoOfLocal = (value: string): string | undefined =>
  value === '' ? undefined : new Date(value).toISOString();

/** An instant as a datetime-local input's value, in the browser's time zone, to the minute. */
export function localOfMs(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
