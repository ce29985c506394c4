import type { AccountRequest, ChannelName } from '../schemas/api.js';
import { convertMinor, currencyExponent, formatMinor } from './money.js';
import { type ResolvedOptions, channelNames } from './options.js';
import { type CustomerProfile, type Population, makeExternalAccount } from './population.js';
import { hash32 } from './random.js';
import { DAY_MS, IN_DAY_SHARE } from './timeline.js';
import { type DraftEvent, draftEvent } from './traffic-event.js';

/**
 * The customers of a simulated world whose accounts have a balance policy (README "Balance policies"), and the
 * money that comes into them: an opening balance when the world starts and a salary every pay period.
 *
 * Everything here follows from the seed and the customer's index by hashing, so a customer's policy, salary and
 * paydays do not depend on the share (a larger share adds customers), on the order of anything else, or on how
 * far the stream has run: a restarted world recomputes them exactly.
 *
 * A salary is an ordinary salary, SALARY_MIN_EUR to SALARY_MAX_EUR (in the account's currency); its pay period
 * is what makes it last: the time the customer takes to spend salary ÷ coverage, at the expected net spending of
 * their channel mix. With coverage drawn in [COVERAGE_MIN, COVERAGE_MAX), nearly a quarter (those below 1) run short
 * before payday, and anyone can overshoot on an expensive day; those debits are what the funds check declines.
 * The demo's customers spend a month of an ordinary card holder's money in a simulated day, so their pay periods
 * are hours; amounts stay those of salaries, which the scoring model takes as the incoming transfers they are.
 */

/** Salary before conversion to the account's currency, whole euros, uniform in [min, max]. */
const SALARY_MIN_EUR = 1_200;
const SALARY_MAX_EUR = 4_000;
/** Salary ÷ expected net spending per pay period, uniform in [min, max). */
const COVERAGE_MIN = 0.85;
const COVERAGE_MAX = 1.5;
/** Bounds on a pay period (a customer who hardly spends is still paid monthly). */
const MIN_PAY_PERIOD_MS = 3_600_000;
const MAX_PAY_PERIOD_MS = 31 * DAY_MS;
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
  /** Paid every `payPeriodMs`, in the account currency, minor units. */
  readonly salaryMinor: number;
  readonly payPeriodMs: number;
  /** The first payday, ms after the world's start (< `payPeriodMs`); the n-th is `n × payPeriodMs` later. */
  readonly paydayOffsetMs: number;
  /** Paid when the world starts (what is left of the last salary); 0 for a customer already broke. */
  readonly openingMinor: number;
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
    const salaryEur = SALARY_MIN_EUR + Math.floor(unit(seed, 0x5a1a, index) * (SALARY_MAX_EUR - SALARY_MIN_EUR + 1));
    const salaryMinor = Math.max(unitMinor, roundTo(convertMinor(salaryEur * 100, 'EUR', currency), 1));
    const coverage = COVERAGE_MIN + (COVERAGE_MAX - COVERAGE_MIN) * unit(seed, 0xc0fe, index);
    // Net spending per ms, in euros taken at par (the salary is euros converted, so the ratio holds).
    const spendPerMs =
      (customer.meanTxPerDay * IN_DAY_SHARE * Math.max(0, expectedNetOutflowMajor(customer, options.channelMix))) /
      DAY_MS;
    const payPeriodMs = Math.round(
      Math.min(MAX_PAY_PERIOD_MS, Math.max(MIN_PAY_PERIOD_MS, salaryEur / coverage / Math.max(spendPerMs, 1e-12))),
    );
    const paydayOffsetMs = Math.floor(unit(seed, 0x0ff5, index) * payPeriodMs);
    // The world starts inside a pay period: the last salary came one period before the first payday, and since
    // then the customer has spent at their usual rate.
    const spentMinor = convertMinor(Math.round(spendPerMs * (payPeriodMs - paydayOffsetMs) * 100), 'EUR', currency);
    const overdraftLimitMinor =
      unit(seed, 0x0d4a, index) < OVERDRAFT_SHARE
        ? Math.max(OVERDRAFT_ROUNDING * unitMinor, roundTo(salaryMinor * OVERDRAFT_OF_SALARY, OVERDRAFT_ROUNDING))
        : 0;
    holders.push({
      customer,
      overdraftLimitMinor,
      salaryMinor,
      payPeriodMs,
      paydayOffsetMs,
      openingMinor: Math.max(0, roundTo(salaryMinor - spentMinor, 1)),
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

/** Where the payroll is: the last salary paid, as [time (epoch ms), customer index]; null before the first. */
export interface PayrollState {
  readonly last: readonly [number, number] | null;
}

interface Payday {
  readonly timeMs: number;
  readonly holder: PolicyHolder;
}

function before(a: Payday, b: Payday): boolean {
  return a.timeMs < b.timeMs || (a.timeMs === b.timeMs && a.holder.customer.index < b.holder.customer.index);
}

/**
 * The holders' salaries in time order (ties by customer index). Each holder has exactly one payday pending, so the
 * queue is as long as the list of holders, and the state is the last salary paid: every holder's next payday is
 * its first one after that.
 */
export class Payroll {
  /** A binary min-heap by (time, customer index). */
  private heap: Payday[] = [];
  private last: readonly [number, number] | null = null;

  constructor(
    private readonly holders: readonly PolicyHolder[],
    private readonly startTimeMs: number,
  ) {
    this.rebuild();
  }

  /** Time (epoch ms) of the next salary; Infinity when nobody is paid. */
  nextTimeMs(): number {
    return this.heap[0]?.timeMs ?? Infinity;
  }

  /** The next salary (call only when `nextTimeMs` is finite). */
  pop(): DraftEvent {
    const { timeMs, holder } = this.heap[0]!;
    this.last = [timeMs, holder.customer.index];
    this.replaceTop({ timeMs: timeMs + holder.payPeriodMs, holder });
    const day = Math.floor((timeMs - this.startTimeMs) / DAY_MS);
    return creditTransfer(holder, timeMs, day, holder.salaryMinor, holder.employerAccountId, 'Salary');
  }

  save(): PayrollState {
    return { last: this.last };
  }

  /** Continues after the salary `state` names. Throws RangeError for a malformed state. */
  restore(state: PayrollState): void {
    const last = state.last;
    if (last !== null && !(Number.isSafeInteger(last[0]) && Number.isSafeInteger(last[1])))
      throw new RangeError(`payroll state ${JSON.stringify(last)} is not [time, customer index]`);
    this.last = last === null ? null : [last[0], last[1]];
    this.rebuild();
  }

  /** Every holder's first payday after `last`. */
  private rebuild(): void {
    const last = this.last;
    this.heap = this.holders.map((holder) => {
      const first = this.startTimeMs + holder.paydayOffsetMs;
      if (last === null) return { timeMs: first, holder };
      let k = Math.max(0, Math.floor((last[0] - first) / holder.payPeriodMs));
      const at = (n: number): number => first + n * holder.payPeriodMs;
      while (at(k) < last[0] || (at(k) === last[0] && holder.customer.index <= last[1])) k++;
      return { timeMs: at(k), holder };
    });
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  private replaceTop(payday: Payday): void {
    this.heap[0] = payday;
    this.siftDown(0);
  }

  private siftDown(start: number): void {
    const heap = this.heap;
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && before(heap[left]!, heap[smallest]!)) smallest = left;
      if (right < heap.length && before(heap[right]!, heap[smallest]!)) smallest = right;
      if (smallest === i) return;
      [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
      i = smallest;
    }
  }
}
