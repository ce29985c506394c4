import type { Transaction } from '../../schemas/generated/types.js';

/**
 * Data minimisation at the front door (GDPR art. 5(1)(c)): what ingest keeps of a transaction's personal fields.
 * The fingerprint is computed before this, over the values as sent, so a retry is still a duplicate.
 *
 *  - `latitude`, `longitude`: rounded to {@link COORDINATE_DECIMALS} decimals (0.01°, about 1.1 km north–south), and
 *    the precise position is not kept at all. Scoring's impossible-travel features read only distances and speeds:
 *    two positions of one cell differ by at most about 1.6 km, which at the one-minute floor between transactions is
 *    under 100 km/h — far below the 900 km/h the impossible-travel rule looks for. A 0.1° cell would read two
 *    purchases a minute apart in neighbouring cells as about 660 km/h.
 *  - `deviceId`: replaced by a keyed pseudonym (stable, so per-device and known-device features work as before).
 *  - `ipAddress`, `description`, `bankTransfer.remittanceInfo`: sealed under the customer's data key, erasable.
 */
export const COORDINATE_DECIMALS = 2;

/** A coordinate rounded to the kept precision; null stays null. */
export function coarseCoordinate(degrees: number | null): number | null {
  if (degrees === null) return null;
  const scale = 10 ** COORDINATE_DECIMALS;
  // Number(toFixed) rather than Math.round(x * scale) / scale: no binary tails such as 48.860000000000006.
  return Number((Math.round(degrees * scale) / scale).toFixed(COORDINATE_DECIMALS));
}

/** The customer whose data key seals a transaction's personal fields: its customer, else its payer account. */
export function dataSubjectOf(tx: Pick<Transaction, 'customerId' | 'payerAccountId'>): string {
  return tx.customerId ?? tx.payerAccountId;
}

/** The personal free-text fields of `tx` that are sealed, in a fixed order (see {@link withSealedFields}). */
export function sealableFields(tx: Transaction): Array<string | null> {
  return [tx.ipAddress, tx.description, tx.bankTransfer?.remittanceInfo ?? null];
}

/** `tx` as written to the log: `sealed` (from {@link sealableFields}, same order) in place, the rest minimised. */
export function withSealedFields(
  tx: Transaction,
  sealed: ReadonlyArray<string | null>,
  devicePseudonym: string | null,
): Transaction {
  const [ipAddress, description, remittanceInfo] = sealed;
  return {
    ...tx,
    deviceId: devicePseudonym,
    ipAddress: ipAddress ?? null,
    description: description ?? null,
    bankTransfer: tx.bankTransfer === null ? null : { ...tx.bankTransfer, remittanceInfo: remittanceInfo ?? null },
    latitude: coarseCoordinate(tx.latitude),
    longitude: coarseCoordinate(tx.longitude),
  };
}
