import type { ChannelName } from '../schemas/api.js';
import { ValidationError, type FieldProblem } from '../platform/errors.js';
import { isSupportedCurrency } from './money.js';
import type { ChannelMix, SimulatorOptions } from './types.js';

const defaultChannelMix: ChannelMix = Object.freeze({
  card: 0.8,
  sepa: 0.06,
  wallet: 0.05,
  p2p: 0.04,
  cash: 0.03,
  ach: 0.01,
  wire: 0.01,
});
const defaultCurrencies: Readonly<Record<string, number>> = Object.freeze({ EUR: 0.9, GBP: 0.06, USD: 0.04 });

/** The defaults of every `SimulatorOptions` field (see simulator/types.ts for their meaning). */
export const simulatorDefaults = Object.freeze({
  seed: 1,
  startTimeMs: Date.UTC(2018, 3, 1),
  customers: 5_000,
  terminals: 10_000,
  meanTxPerCustomerPerDay: 2,
  fraudScale: 1,
  channelMix: defaultChannelMix,
  currencies: defaultCurrencies,
  handbookMode: false,
  policyShare: 0,
  cardFlows: false,
});

export const channelNames: readonly ChannelName[] = ['card', 'ach', 'sepa', 'wire', 'wallet', 'p2p', 'cash'];

/** Every option of `SimulatorOptions` with its default filled in, checked. */
export interface ResolvedOptions {
  readonly seed: number;
  readonly startTimeMs: number;
  readonly customers: number;
  readonly terminals: number;
  readonly meanTxPerCustomerPerDay: number;
  readonly fraudScale: number;
  readonly channelMix: ChannelMix;
  readonly currencies: Readonly<Record<string, number>>;
  readonly handbookMode: boolean;
  readonly warmStart: boolean;
  readonly policyShare: number;
  readonly cardFlows: boolean;
}

/** Fills in defaults and checks every option; throws ValidationError (SIMULATOR_OPTIONS_INVALID) listing every bad one. */
export function resolveOptions(options: SimulatorOptions): ResolvedOptions {
  const problems: FieldProblem[] = [];
  const handbookMode = options.handbookMode ?? simulatorDefaults.handbookMode;
  const resolved: ResolvedOptions = {
    seed: options.seed ?? simulatorDefaults.seed,
    startTimeMs: options.startTimeMs ?? simulatorDefaults.startTimeMs,
    customers: options.customers ?? simulatorDefaults.customers,
    terminals: options.terminals ?? simulatorDefaults.terminals,
    meanTxPerCustomerPerDay: options.meanTxPerCustomerPerDay ?? simulatorDefaults.meanTxPerCustomerPerDay,
    fraudScale: options.fraudScale ?? simulatorDefaults.fraudScale,
    channelMix: handbookMode ? { card: 1 } : (options.channelMix ?? simulatorDefaults.channelMix),
    currencies: handbookMode ? { EUR: 1 } : (options.currencies ?? simulatorDefaults.currencies),
    handbookMode,
    warmStart: options.warmStart ?? !handbookMode,
    // A world saved before balance policies existed has none, and carries on without them.
    policyShare: options.policyShare ?? simulatorDefaults.policyShare,
    // The handbook's rows are one per purchase; a world saved before card flows existed carries on without them.
    cardFlows: handbookMode ? false : (options.cardFlows ?? simulatorDefaults.cardFlows),
  };
  const check = (ok: boolean, path: string, message: string): void => {
    if (!ok) problems.push({ path, message });
  };
  check(Number.isSafeInteger(resolved.seed), '/seed', 'must be an integer');
  check(Number.isSafeInteger(resolved.startTimeMs), '/startTimeMs', 'must be an integer epoch-ms');
  check(
    Number.isSafeInteger(resolved.customers) && resolved.customers >= 1 && resolved.customers <= 10_000_000,
    '/customers',
    'must be an integer in [1, 10,000,000]',
  );
  check(
    Number.isSafeInteger(resolved.terminals) && resolved.terminals >= 1 && resolved.terminals <= 10_000_000,
    '/terminals',
    'must be an integer in [1, 10,000,000]',
  );
  check(
    Number.isFinite(resolved.meanTxPerCustomerPerDay) && resolved.meanTxPerCustomerPerDay > 0,
    '/meanTxPerCustomerPerDay',
    'must be a number > 0',
  );
  check(
    Number.isFinite(resolved.policyShare) && resolved.policyShare >= 0 && resolved.policyShare <= 1,
    '/policyShare',
    'must be a number in [0, 1]',
  );
  check(typeof resolved.cardFlows === 'boolean', '/cardFlows', 'must be true or false');
  check(Number.isFinite(resolved.fraudScale) && resolved.fraudScale >= 0, '/fraudScale', 'must be a number ≥ 0');
  let mixTotal = 0;
  for (const [channel, weight] of Object.entries(resolved.channelMix)) {
    check(
      (channelNames as readonly string[]).includes(channel),
      `/channelMix/${channel}`,
      `must be one of ${channelNames.join(', ')}`,
    );
    check(
      typeof weight === 'number' && Number.isFinite(weight) && weight >= 0,
      `/channelMix/${channel}`,
      'must be a number ≥ 0',
    );
    mixTotal += typeof weight === 'number' && weight > 0 ? weight : 0;
  }
  check(mixTotal > 0, '/channelMix', 'needs at least one channel with a positive weight');
  let currencyTotal = 0;
  for (const [currency, weight] of Object.entries(resolved.currencies)) {
    check(
      isSupportedCurrency(currency),
      `/currencies/${currency}`,
      'is not a currency the simulator knows (EUR, USD, GBP, CHF, JPY)',
    );
    check(Number.isFinite(weight) && weight >= 0, `/currencies/${currency}`, 'must be a number ≥ 0');
    currencyTotal += weight > 0 ? weight : 0;
  }
  check(currencyTotal > 0, '/currencies', 'needs at least one currency with a positive weight');
  if (problems.length > 0)
    throw new ValidationError('invalid simulator options', problems, 'SIMULATOR_OPTIONS_INVALID');
  return resolved;
}
