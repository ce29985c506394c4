import type { ChannelName } from '../schemas/api.js';
import type { FraudSchedule } from './fraud-scenarios.js';
import { currencyExponent, majorToMinor } from './money.js';
import type { CustomerProfile, Population } from './population.js';
import { AliasTable, type Random } from './random.js';
import { type ResolvedOptions, channelNames } from './options.js';
import { type DraftEvent, cardDraft, draftEvent } from './traffic-event.js';

/**
 * Genuine traffic, the handbook's way: each customer's rate is their own mean; card amounts are normal around
 * the customer's mean at terminals within radius 5; the other channels follow the same pattern with their
 * own counterparties (payees, friends, ATMs and branches). Card purchases are labelled by `fraud` (the
 * handbook's scenarios are labels on genuine traffic).
 */
export class GenuineTraffic {
  private readonly customerPicker: AliasTable;
  private readonly channelPicker: { readonly channels: readonly ChannelName[]; readonly cumulative: Float64Array };

  /** `random` is the traffic stream shared with the arrival times: the order of draws is the stream. */
  constructor(
    options: ResolvedOptions,
    private readonly population: Population,
    private readonly random: Random,
    private readonly fraud: FraudSchedule,
  ) {
    this.customerPicker = new AliasTable(Float64Array.from(population.customers, (customer) => customer.meanTxPerDay));
    const mix = channelNames.filter((channel) => (options.channelMix[channel] ?? 0) > 0);
    const cumulative = new Float64Array(mix.length);
    let total = 0;
    mix.forEach((channel, i) => {
      total += options.channelMix[channel]!;
      cumulative[i] = total;
    });
    for (let i = 0; i < cumulative.length; i++) cumulative[i]! /= total;
    this.channelPicker = { channels: mix, cumulative };
  }

  private pickChannel(): ChannelName {
    const { channels, cumulative } = this.channelPicker;
    if (channels.length === 1) return channels[0]!;
    const u = this.random.next();
    for (let i = 0; i < cumulative.length; i++) if (u < cumulative[i]!) return channels[i]!;
    return channels[channels.length - 1]!;
  }

  /** The handbook's amount: normal(mean, mean/2), redrawn uniformly in [0, 2·mean] when negative. */
  private handbookAmount(mean: number): number {
    const amount = mean + (mean / 2) * this.random.normal();
    return amount < 0 ? this.random.uniform(0, 2 * mean) : amount;
  }

  /**
   * The genuine transaction at `timeMs` on `day`: a customer drawn in proportion to their rate, a channel from
   * the mix. Null when the customer has nothing to do on that channel (no terminal, friend or branch in reach),
   * which the handbook drops.
   */
  eventAt(timeMs: number, day: number): DraftEvent | null {
    const customer = this.population.customers[this.customerPicker.sample(this.random)]!;
    switch (this.pickChannel()) {
      case 'card':
        return this.cardPurchase(customer, timeMs, day);
      case 'wallet':
        return this.walletPayment(customer, timeMs, day);
      case 'p2p':
        return this.p2pPayment(customer, timeMs, day);
      case 'sepa':
        return this.bankTransfer(customer, timeMs, day, 'sepa');
      case 'ach':
        return this.bankTransfer(customer, timeMs, day, 'ach');
      case 'wire':
        return this.bankTransfer(customer, timeMs, day, 'wire');
      case 'cash':
        return this.cashTransaction(customer, timeMs, day);
    }
  }

  private cardPurchase(customer: CustomerProfile, timeMs: number, day: number): DraftEvent | null {
    const nearby = this.population.terminalsNear(customer.index);
    // The handbook drops transactions of customers with no terminal in reach.
    if (nearby.length === 0) return null;
    const terminal = this.population.terminals[nearby[this.random.int(nearby.length)]!]!;
    const card = customer.cards[customer.cards.length > 1 && this.random.chance(0.3) ? 1 : 0]!;
    const device = terminal.cardPresent ? null : customer.devices[this.random.int(customer.devices.length)]!;
    const exponent = currencyExponent(terminal.currency);
    const { amountMinor, scenario } = this.fraud.labelCardPurchase(
      customer,
      terminal,
      day,
      majorToMinor(this.handbookAmount(customer.meanAmount), exponent),
      exponent,
      this.random,
    );
    return cardDraft(customer, timeMs, day, terminal, card, terminal.cardPresent, device, amountMinor, scenario);
  }

  private walletPayment(customer: CustomerProfile, timeMs: number, day: number): DraftEvent | null {
    const nearby = this.population.terminalsNear(customer.index);
    if (nearby.length === 0) return null;
    const terminal = this.population.terminals[nearby[this.random.int(nearby.length)]!]!;
    const device = customer.devices[this.random.int(customer.devices.length)]!;
    const amountMinor = majorToMinor(
      this.handbookAmount(customer.meanAmount),
      currencyExponent(customer.accountCurrency),
    );
    return draftEvent(
      customer,
      timeMs,
      day,
      'wallet',
      'purchase',
      amountMinor,
      customer.accountCurrency,
      customer.accountId,
      terminal.payeeAccountId,
      {
        terminal,
        device,
        location: customer.home,
      },
    );
  }

  private p2pPayment(customer: CustomerProfile, timeMs: number, day: number): DraftEvent | null {
    if (customer.friends.length === 0) return null;
    const friend = this.population.customers[customer.friends[this.random.int(customer.friends.length)]!]!;
    const device = customer.devices[this.random.int(customer.devices.length)]!;
    const amountMinor = majorToMinor(
      this.handbookAmount(customer.meanAmount * 1.5),
      currencyExponent(customer.accountCurrency),
    );
    return draftEvent(
      customer,
      timeMs,
      day,
      'p2p',
      'transfer',
      amountMinor,
      customer.accountCurrency,
      customer.accountId,
      friend.accountId,
      {
        device,
        location: customer.home,
      },
    );
  }

  private bankTransfer(
    customer: CustomerProfile,
    timeMs: number,
    day: number,
    channel: 'sepa' | 'ach' | 'wire',
  ): DraftEvent {
    const payee = customer.payees[this.random.int(customer.payees.length)]!;
    const device = customer.devices[this.random.int(customer.devices.length)]!;
    // SEPA is a euro scheme and ACH a dollar one; wires go out in the account's own currency.
    const currency = channel === 'sepa' ? 'EUR' : channel === 'ach' ? 'USD' : customer.accountCurrency;
    const mean = channel === 'wire' ? customer.transferMean * 4 : customer.transferMean;
    const amountMinor = majorToMinor(this.handbookAmount(mean), currencyExponent(currency));
    const scheme =
      channel === 'sepa' ? (this.random.chance(0.15) ? 'SEPA_INST' : 'SEPA_CT') : channel === 'ach' ? 'ACH' : 'SWIFT';
    return draftEvent(
      customer,
      timeMs,
      day,
      channel,
      'transfer',
      amountMinor,
      currency,
      customer.accountId,
      payee.accountId,
      {
        device,
        location: customer.home,
        scheme,
        remittance: payee.remittance,
      },
    );
  }

  private cashTransaction(customer: CustomerProfile, timeMs: number, day: number): DraftEvent | null {
    const near = this.population.cashPointsNear(customer.index);
    if (this.random.chance(0.85) || near.branches.length === 0) {
      const atm = this.population.cashPoints[near.atms[this.random.int(near.atms.length)]!]!;
      const amountMinor = 10 * this.random.intBetween(2, 40) * 10 ** currencyExponent('EUR');
      return draftEvent(
        customer,
        timeMs,
        day,
        'cash',
        'withdrawal',
        amountMinor,
        'EUR',
        customer.accountId,
        atm.accountId,
        {
          cashPoint: atm,
          location: atm.location,
        },
      );
    }
    const branch = this.population.cashPoints[near.branches[this.random.int(near.branches.length)]!]!;
    // Mostly small deposits; a few large ones above the reporting threshold (genuine, and reported).
    const major = this.random.chance(0.97)
      ? 10 * this.random.intBetween(5, 300)
      : 100 * this.random.intBetween(100, 200);
    const amountMinor = major * 10 ** currencyExponent(customer.accountCurrency);
    return draftEvent(
      customer,
      timeMs,
      day,
      'cash',
      'deposit',
      amountMinor,
      customer.accountCurrency,
      branch.accountId,
      customer.accountId,
      {
        cashPoint: branch,
        location: branch.location,
      },
    );
  }
}
