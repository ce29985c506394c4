import type { AccountRequest, ChannelName } from '../schemas/api.js';
import { convertMinor, currencyExponent, formatMinor } from './money.js';
import { type ResolvedOptions, channelNames } from './options.js';
import { type CustomerProfile, type Population, makeExternalAccount } from './population.js';
import { hash32 } from './random.js';
import { DAY_MS, IN_DAY_SHARE, dayShareBefore } from './timeline.js';
import { type DraftEvent, draftEvent } from './traffic-event.js';

/**
 * The customers of a simulated world whose accounts have a balance policy (README "Balance policies"), and the
 * money that comes into them: an opening balance when the world starts and a salary every simulated day.
 *
 * Everything here follows from the seed and the customer's index by hashing, so a customer's policy, salary and
 * payday do not depend on the share (a larger share adds customers), on the order of anything else, or on how
 * far the stream has run: a restarted world recomputes them exactly.
 *
 * A day of the live world is about a month of an ordinary card holder's spending (the demo's customers make ~90
 * transactions a simulated day), so the pay period is one simulated day. The salary is the customer's expected
 * net spending over a period times a coverage drawn in [COVERAGE_MIN, COVERAGE_MAX): the quarter or so below 1
 * run short before payday, and anyone can overshoot on an expensive day; those debits are what the funds check
 * declines.
 */

/** The pay period: one simulated day. */
export const PAY_PERIOD_MS = DAY_MS;
/** Salary ÷ expected net spending per period, uniform in [min, max). */
const COVERAGE_MIN = 0.85;
const COVERAGE_MAX = 1.5;
/** Share of policy holders with an arranged overdraft, and its size as a share of the salary. */
const OVERDRAFT_SHARE = 1 / 3;
const OVERDRAFT_OF_SALARY = 0.1;
/** Salaries and opening balances are whole units; overdrafts are tens of units. */
const OVERDRAFT_ROUNDING = 10;
/** Average ATM withdrawal and branch deposit, major units (genuine-traffic.ts cashTransaction). */
const MEAN_ATM_WITHDRAWAL = 210;
const MEAN_BRANCH_DEPOSIT = 0.97 * 1_525 + 0.03 * 15_000;
const ATM_SHARE_OF_CASH = 0.85;

/** One customer with a balance policy, and what the world pays into the account. */
export interface PolicyHolder {
  readonly customer: CustomerProfile;
  /** In the account currency (`customer.accountCurrency`), minor units; 0 for no overdraft. */
  readonly overdraftLimitMinor: number;
  /** Paid every PAY_PERIOD_MS, in the account currency, minor units. */
  readonly salaryMinor: number;
  /** Paid when the world starts (what is left of the last salary); 0 for a customer already broke. */
  readonly openingMinor: number;
  /** Time of the payday within each pay period, ms from the period's start (periods start with the world). */
  readonly paydayOffsetMs: number;
  /** The employer's account, the payer of the salary. */
  readonly employerAccountId: string;
  /** The customer's account elsewhere, the payer of the opening balance. */
  readonly previousBankAccountId: string;
}

/** A uniform number in [0, 1) from the seed, a purpose tag and a customer index. */
function unit(seed: number, purpose: number, index: number): number {
  return hash32(seed, purpose, index) / 0x100000000;
}

/** True when the customer with this index has a balance policy in a world of `seed` and `share`. */
export function hasPolicy(seed: number, share: number, index: number): boolean {
  return unit(seed, 0xb0a1, index) < share;
}

/**
 * Expected net outflow of one of `customer`'s transactions in major units (EUR amounts taken at par): the
 * channel mix's debits less the customer's own cash deposits. Incoming P2P is left out: it is a friend's
 * spending, a windfall.
 */
function expectedNetOutflowMajor(customer: CustomerProfile, mix: ResolvedOptions['channelMix']): number {
  const meanByChannel: Readonly<Record<ChannelName, number>> = {
    card: customer.meanAmount,
    wallet: customer.meanAmount,
    p2p: 1.5 * customer.meanAmount,
    sepa: customer.transferMean,
    ach: customer.transferMean,
    wire: 4 * customer.transferMean,
    cash: ATM_SHARE_OF_CASH * MEAN_ATM_WITHDRAWAL - (1 - ATM_SHARE_OF_CASH) * MEAN_BRANCH_DEPOSIT,
  };
  let total = 0;
  let weighted = 0;
  for (const channel of channelNames) {
    const weight = mix[channel] ?? 0;
    if (weight <= 0) continue;
    total += weight;
    weighted += weight * meanByChannel[channel];
  }
  return total > 0 ? weighted / total : 0;
}

/**
 * The policy holders of a world, by customer index: each customer with `hasPolicy`, with an overdraft limit, a
 * salary, an opening balance and a payday. Empty when `options.policyShare` is 0.
 */
export function policyHolders(options: ResolvedOptions, population: Population): PolicyHolder[] {
  const { seed, policyShare } = options;
  const holders: PolicyHolder[] = [];
  if (policyShare <= 0) return holders;
  for (const customer of population.customers) {
    const index = customer.index;
    if (!hasPolicy(seed, policyShare, index)) continue;
    const currency = customer.accountCurrency;
    const unitMinor = 10 ** currencyExponent(currency);
    const roundTo = (minor: number, units: number): number =>
      Math.round(minor / (units * unitMinor)) * units * unitMinor;
    const periodSpendEur =
      customer.meanTxPerDay *
      IN_DAY_SHARE *
      (PAY_PERIOD_MS / DAY_MS) *
      Math.max(0, expectedNetOutflowMajor(customer, options.channelMix));
    const periodSpendMinor = convertMinor(Math.round(periodSpendEur * 100), 'EUR', currency);
    const coverage = COVERAGE_MIN + (COVERAGE_MAX - COVERAGE_MIN) * unit(seed, 0x5a1a, index);
    const salaryMinor = Math.max(unitMinor, roundTo(periodSpendMinor * coverage, 1));
    const paydayOffsetMs = Math.floor(unit(seed, 0x0ff5, index) * PAY_PERIOD_MS);
    // The world starts at the beginning of a period: the last salary was paid one period before this payday, and
    // the customer has spent since then what their days bring between that payday and the end of the day.
    const spentMinor = periodSpendMinor * (1 - dayShareBefore(paydayOffsetMs));
    const overdraftLimitMinor =
      unit(seed, 0x0d4a, index) < OVERDRAFT_SHARE
        ? Math.max(OVERDRAFT_ROUNDING * unitMinor, roundTo(salaryMinor * OVERDRAFT_OF_SALARY, OVERDRAFT_ROUNDING))
        : 0;
    holders.push({
      customer,
      overdraftLimitMinor,
      salaryMinor,
      openingMinor: Math.max(0, roundTo(salaryMinor - spentMinor, 1)),
      paydayOffsetMs,
      employerAccountId: makeExternalAccount(seed, -2, index),
      previousBankAccountId: makeExternalAccount(seed, -3, index),
    });
  }
  return holders;
}

/** The body of `PUT /v1/accounts/{id}` that gives a holder's account its policy. */
export function accountRequestOf(holder: PolicyHolder): AccountRequest {
  const currency = holder.customer.accountCurrency;
  return {
    type: 'customer',
    currency,
    policy: {
      overdraftLimit: { value: formatMinor(holder.overdraftLimitMinor, currencyExponent(currency)), currency },
    },
  };
}

/** A credit transfer into a holder's account by the scheme of its currency (SEPA in euros, ACH in dollars). */
function creditTransfer(
  holder: PolicyHolder,
  timeMs: number,
  day: number,
  amountMinor: number,
  payerAccountId: string,
  remittance: string,
): DraftEvent {
  const { customer } = holder;
  const currency = customer.accountCurrency;
  const channel = currency === 'EUR' ? 'sepa' : currency === 'USD' ? 'ach' : 'wire';
  const scheme = channel === 'sepa' ? 'SEPA_CT' : channel === 'ach' ? 'ACH' : 'SWIFT';
  return draftEvent(
    customer,
    timeMs,
    day,
    channel,
    'transfer',
    amountMinor,
    currency,
    payerAccountId,
    customer.accountId,
    {
      scheme,
      remittance,
    },
  );
}

/** The opening balance of a holder as an event at the world's start, or null when there is nothing left. */
export function openingDeposit(holder: PolicyHolder, startTimeMs: number): DraftEvent | null {
  if (holder.openingMinor <= 0) return null;
  return creditTransfer(holder, startTimeMs, 0, holder.openingMinor, holder.previousBankAccountId, 'Opening balance');
}

/** Where the payroll is: how many salaries have been paid since the world started. */
export interface PayrollState {
  readonly paid: number;
}

/**
 * The holders' salaries in time order. Paydays repeat every period in the same order (offsets lie within the
 * period; ties by customer index), so the n-th salary is holder n mod H of period ⌊n / H⌋, and the state is a
 * count.
 */
export class Payroll {
  private readonly byPayday: readonly PolicyHolder[];
  private paid = 0;

  constructor(
    holders: readonly PolicyHolder[],
    private readonly startTimeMs: number,
  ) {
    this.byPayday = [...holders].sort(
      (a, b) => a.paydayOffsetMs - b.paydayOffsetMs || a.customer.index - b.customer.index,
    );
  }

  /** Time (epoch ms) of the next salary; Infinity when nobody is paid. */
  nextTimeMs(): number {
    const holder = this.byPayday[this.paid % Math.max(1, this.byPayday.length)];
    if (holder === undefined) return Infinity;
    return this.startTimeMs + Math.floor(this.paid / this.byPayday.length) * PAY_PERIOD_MS + holder.paydayOffsetMs;
  }

  /** The next salary (call only when `nextTimeMs` is finite). */
  pop(): DraftEvent {
    const holder = this.byPayday[this.paid % this.byPayday.length]!;
    const timeMs = this.nextTimeMs();
    this.paid++;
    const day = Math.floor((timeMs - this.startTimeMs) / DAY_MS);
    return creditTransfer(holder, timeMs, day, holder.salaryMinor, holder.employerAccountId, 'Salary');
  }

  save(): PayrollState {
    return { paid: this.paid };
  }

  /** Throws RangeError for a count that is not a non-negative integer. */
  restore(state: PayrollState): void {
    if (!(Number.isSafeInteger(state.paid) && state.paid >= 0))
      throw new RangeError(`payroll count ${state.paid} is not a non-negative integer`);
    this.paid = state.paid;
  }
}
