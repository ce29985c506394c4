import type { ErrorCode } from '../../platform/error-codes.js';
import { type FieldProblem, VigilError } from '../../platform/errors.js';
import { type LegLinks, NO_LINKS } from './holds.js';
import type {
  Decision,
  LedgerEntry,
  ScoredTransaction,
  Transaction,
  TransactionKind,
} from '../../schemas/generated/types.js';

/**
 * Double-entry postings for one transaction: pure, deterministic, balanced per currency.
 *
 * Account naming (the `account_id` column of `ledger_entries`):
 * - A customer, merchant or bank account is named by the id ingest accepted (`payerAccountId`,
 *   `payeeAccountId`) exactly as it is.
 * - `fx:<ISO 4217 code>` is the bank's FX position in that currency, e.g. `fx:EUR`. A cross-currency
 *   transaction credits the position in the currency the payer paid in and debits the position in the currency
 *   the payee received, so the position accounts carry the bank's open FX exposure. The `fx:` prefix is
 *   reserved: a transaction whose payer or payee id starts with it is rejected rather than posted into a
 *   position account.
 *
 * Sign convention: a negative amount debits the account's balance, a positive one credits it. Per transaction
 * and per currency the legs sum to exactly 0 (checked by {@link assertBalanced} on every posting).
 */

// One definition with ingest, which refuses these ids before they reach the ledger.
export { FX_ACCOUNT_PREFIX } from '../../schemas/account-ids.js';
import { FX_ACCOUNT_PREFIX } from '../../schemas/account-ids.js';

/** The bank's FX position account in `currency`. */
export function fxPositionAccount(currency: string): string {
  return `${FX_ACCOUNT_PREFIX}${currency}`;
}

/** ClickHouse `Int64` bounds: every leg and every partial sum of a posting must fit. */
export const INT64_MAX = 2n ** 63n - 1n;
export const INT64_MIN = -(2n ** 63n);

/** Why a posting is refused, by name; what each means (and its category) is in platform/error-codes.ts. */
export const PostingErrorCode = {
  unbalanced: 'UNBALANCED_POSTING',
  int64Overflow: 'LEDGER_INT64_OVERFLOW',
  invalidAmount: 'INVALID_AMOUNT',
  reservedAccount: 'RESERVED_ACCOUNT_ID',
  settlementMismatch: 'SETTLEMENT_MISMATCH',
} as const satisfies Readonly<Record<string, ErrorCode>>;
export type PostingErrorCode = (typeof PostingErrorCode)[keyof typeof PostingErrorCode];

/** Why a transaction could not be posted. Never retriable: the same transaction fails the same way. */
export class PostingError extends VigilError {
  constructor(
    code: PostingErrorCode,
    message: string,
    details: Record<string, unknown> = {},
    problems: readonly FieldProblem[] = [],
  ) {
    // The category comes from the catalogue: internal for a broken invariant, invalid_input for a bad transaction.
    super(code, message, {
      retriable: false,
      details,
      problems,
    });
  }
}

/**
 * Which kinds move money on the ledger when decided. An AUTHORIZATION only reserves funds (a hold at the issuer);
 * the CAPTUREs that follow it move them, so booking both would count the money twice. Every other kind posts.
 */
export function kindPosts(kind: TransactionKind): boolean {
  return kind !== 'AUTHORIZATION';
}

/**
 * What a decision does to the ledger when it is decided: an APPROVE books its legs (`post`); a REVIEW places a
 * pending hold with them (`hold`, domain/holds.ts), booked or voided by the analyst's verdict; an AUTHORIZATION let
 * through (APPROVE or REVIEW) places an authorisation hold its captures settle (`authorize`); a DECLINE does
 * nothing (`none`).
 */
export type Booking = 'post' | 'hold' | 'authorize' | 'none';

export function bookingOf(decision: Decision, kind: TransactionKind): Booking {
  if (decision === 'DECLINE') return 'none';
  if (!kindPosts(kind)) return 'authorize';
  return decision === 'APPROVE' ? 'post' : 'hold';
}

/** Why a scored transaction books nothing when it is decided, or null when it does. */
export type NotPostedReason = 'declined' | 'authorization_hold' | 'held_for_review';

export function notPostedReason(scored: ScoredTransaction): NotPostedReason | null {
  const booking = bookingOf(scored.decision, scored.transaction.kind);
  if (booking === 'post') return null;
  if (booking === 'hold') return 'held_for_review';
  return booking === 'authorize' ? 'authorization_hold' : 'declined';
}

/** What `tx`'s legs follow up (domain/holds.ts): its original, for a CAPTURE or a REFUND that names one. */
export function linksOf(tx: Transaction): LegLinks {
  const original = tx.originalTransactionId ?? '';
  if (original === '') return NO_LINKS;
  if (tx.kind === 'CAPTURE') return { capturesTransactionId: original, refundsTransactionId: '' };
  if (tx.kind === 'REFUND') return { capturesTransactionId: '', refundsTransactionId: original };
  return NO_LINKS;
}

/**
 * The entries a transaction posts, legs numbered from 0 with ids `<transactionId>/<leg>`.
 *
 * - Same currency (no settlement, or a settlement equal to the amount): leg 0 payer −amount, leg 1 payee +amount.
 * - Cross-currency (settlement in another currency): leg 0 payer −settlement (settlement currency),
 *   leg 1 `fx:<settlement currency>` +settlement, leg 2 `fx:<currency>` −amount, leg 3 payee +amount (currency).
 * - REFUND reverses every sign: money flows back from payee to payer, through the same FX positions.
 * - AUTHORIZATION: the legs its hold reserves (the ones its captures will book); it never books them itself.
 *
 * `postedAtMs` (epoch ms) is stamped on every entry; it defaults to when ingest accepted the transaction so the
 * result depends on the transaction alone.
 *
 * @throws PostingError INVALID_AMOUNT, RESERVED_ACCOUNT_ID or SETTLEMENT_MISMATCH for a transaction that
 *   cannot be posted; UNBALANCED_POSTING / LEDGER_INT64_OVERFLOW if the result breaks the ledger's invariants.
 */
export function postingsFor(tx: Transaction, postedAtMs: number = tx.receivedAtMs): LedgerEntry[] {
  checkPostable(tx);
  const sign = tx.kind === 'REFUND' ? -1n : 1n;
  const leg = (
    index: number,
    accountId: string,
    amountMinor: bigint,
    currency: string,
    entryType: LedgerEntry['entryType'],
  ): LedgerEntry => ({
    entryId: `${tx.transactionId}/${index}`,
    transactionId: tx.transactionId,
    leg: index,
    accountId,
    amountMinor: sign * amountMinor,
    currency,
    entryType,
    eventTimeMs: tx.eventTimeMs,
    postedAtMs,
  });

  const settlement = tx.settlement;
  const entries =
    settlement === null || settlement.currency === tx.currency
      ? [
          leg(0, tx.payerAccountId, -tx.amountMinor, tx.currency, 'PRINCIPAL'),
          leg(1, tx.payeeAccountId, tx.amountMinor, tx.currency, 'PRINCIPAL'),
        ]
      : [
          leg(0, tx.payerAccountId, -settlement.amountMinor, settlement.currency, 'PRINCIPAL'),
          leg(1, fxPositionAccount(settlement.currency), settlement.amountMinor, settlement.currency, 'FX'),
          leg(2, fxPositionAccount(tx.currency), -tx.amountMinor, tx.currency, 'FX'),
          leg(3, tx.payeeAccountId, tx.amountMinor, tx.currency, 'PRINCIPAL'),
        ];
  assertBalanced(entries);
  return entries;
}

/**
 * The entries a scored transaction books when it is decided: {@link postingsFor} for an APPROVE of a kind that
 * moves money, nothing otherwise (a REVIEW's legs go into its hold).
 * @throws PostingError as {@link postingsFor}.
 */
export function postingsForDecision(scored: ScoredTransaction, postedAtMs?: number): LedgerEntry[] {
  return bookingOf(scored.decision, scored.transaction.kind) === 'post'
    ? postingsFor(scored.transaction, postedAtMs)
    : [];
}

function checkPostable(tx: Transaction): void {
  const problems: FieldProblem[] = [];
  const checkAmount = (path: string, amount: bigint): void => {
    if (amount <= 0n || amount > INT64_MAX)
      problems.push({ path, message: `must be a positive integer of minor units at most ${INT64_MAX}, got ${amount}` });
  };
  checkAmount('/amountMinor', tx.amountMinor);
  if (tx.settlement !== null) checkAmount('/settlement/amountMinor', tx.settlement.amountMinor);
  if (problems.length > 0) {
    throw new PostingError(
      PostingErrorCode.invalidAmount,
      `transaction ${tx.transactionId} has an amount that cannot be posted`,
      { transactionId: tx.transactionId },
      problems,
    );
  }

  const reserved = (['payerAccountId', 'payeeAccountId'] as const).filter((field) =>
    tx[field].startsWith(FX_ACCOUNT_PREFIX),
  );
  if (reserved.length > 0) {
    throw new PostingError(
      PostingErrorCode.reservedAccount,
      `transaction ${tx.transactionId} names an account in the reserved ${FX_ACCOUNT_PREFIX} namespace`,
      { transactionId: tx.transactionId },
      reserved.map((field) => ({ path: `/${field}`, message: `must not start with ${FX_ACCOUNT_PREFIX}` })),
    );
  }

  if (
    tx.settlement !== null &&
    tx.settlement.currency === tx.currency &&
    tx.settlement.amountMinor !== tx.amountMinor
  ) {
    throw new PostingError(
      PostingErrorCode.settlementMismatch,
      `transaction ${tx.transactionId} settles ${tx.settlement.amountMinor} ${tx.currency} for an amount of ${tx.amountMinor} ${tx.currency}`,
      { transactionId: tx.transactionId },
      [{ path: '/settlement/amountMinor', message: 'a settlement in the transaction currency must equal the amount' }],
    );
  }
}

/**
 * Checks the double-entry invariant on the entries of one transaction: per currency the amounts sum to exactly
 * 0n, and every amount and every running sum fits Int64 (what ClickHouse stores and sums; a sum beyond it would
 * wrap around silently there).
 *
 * @throws PostingError UNBALANCED_POSTING naming the currency and the imbalance, or LEDGER_INT64_OVERFLOW.
 */
export function assertBalanced(entries: readonly LedgerEntry[]): void {
  const running = new Map<string, bigint>();
  for (const entry of entries) {
    const sum = (running.get(entry.currency) ?? 0n) + entry.amountMinor;
    if (entry.amountMinor < INT64_MIN || entry.amountMinor > INT64_MAX || sum < INT64_MIN || sum > INT64_MAX) {
      throw new PostingError(
        PostingErrorCode.int64Overflow,
        `entry ${entry.entryId} takes the ${entry.currency} sum of transaction ${entry.transactionId} outside Int64`,
        {
          transactionId: entry.transactionId,
          entryId: entry.entryId,
          currency: entry.currency,
        },
      );
    }
    running.set(entry.currency, sum);
  }
  for (const [currency, sum] of running) {
    if (sum !== 0n) {
      const transactionIds = [...new Set(entries.map((e) => e.transactionId))];
      throw new PostingError(
        PostingErrorCode.unbalanced,
        `entries of ${transactionIds.join(', ')} in ${currency} sum to ${sum}, not 0`,
        {
          transactionIds,
          currency,
          imbalanceMinor: sum.toString(),
        },
      );
    }
  }
}
