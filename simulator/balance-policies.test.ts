import type { TransactionRequest } from '../schemas/api.js';
import { Payroll, type PolicyHolder, accountRequestOf, hasPolicy, policyHolders } from './balance-policies.js';
import { TrafficSimulator } from './generator.js';
import { resolveOptions } from './options.js';
import { Population } from './population.js';
import type { SimulatorState } from './state.js';
import { FundsModel } from './testing/funds-model.js';
import type { SimulatorOptions } from './types.js';

const START = Date.UTC(2026, 10, 24);
const world = { seed: 5, customers: 2_000, terminals: 4_000, startTimeMs: START } as const;
const throughJson = (state: SimulatorState): SimulatorState => JSON.parse(JSON.stringify(state)) as SimulatorState;
const indexes = (holders: readonly PolicyHolder[]): number[] => holders.map((h) => h.customer.index);
const isSalary = (r: TransactionRequest): boolean => r.description === 'Salary';

function holdersOf(options: SimulatorOptions): PolicyHolder[] {
  const resolved = resolveOptions(options);
  return policyHolders(resolved, new Population({ ...resolved, foreignOnlineShare: 0.25 }));
}

function take(simulator: TrafficSimulator, n: number): TransactionRequest[] {
  return Array.from({ length: n }, () => simulator.nextRequest().request);
}

describe('which customers get a balance policy', () => {
  it('is none at share 0 and everyone at share 1', () => {
    expect(holdersOf({ ...world, policyShare: 0 })).toEqual([]);
    expect(holdersOf({ ...world, policyShare: 1 })).toHaveLength(world.customers);
  });

  it('follows from the seed alone: a larger share only adds customers, another seed picks others', () => {
    const tenth = indexes(holdersOf({ ...world, policyShare: 0.1 }));
    // Seeded, so exact: about a tenth of 2,000.
    expect(tenth).toHaveLength(192);
    expect(indexes(holdersOf({ ...world, policyShare: 0.1 }))).toEqual(tenth);
    const third = new Set(indexes(holdersOf({ ...world, policyShare: 0.3 })));
    expect(tenth.every((i) => third.has(i))).toBe(true);
    expect(third.size).toBeGreaterThan(tenth.length);
    expect(tenth.every((i) => hasPolicy(world.seed, 0.1, i))).toBe(true);
    const otherSeed = indexes(holdersOf({ ...world, seed: 6, policyShare: 0.1 }));
    expect(otherSeed.filter((i) => tenth.includes(i)).length).toBeLessThan(tenth.length / 2);
  });

  it('gives each a salary, a pay period, an opening balance and an overdraft in its own currency', () => {
    const holders = holdersOf({ ...world, policyShare: 1 });
    for (const h of holders) {
      const unit = h.customer.accountCurrency === 'JPY' ? 1 : 100;
      expect(h.salaryMinor % unit).toBe(0);
      expect(h.openingMinor % unit).toBe(0);
      expect(h.overdraftLimitMinor % (10 * unit)).toBe(0);
      expect(h.openingMinor).toBeGreaterThanOrEqual(0);
      expect(h.openingMinor).toBeLessThanOrEqual(h.salaryMinor);
      expect(h.payPeriodMs).toBeGreaterThanOrEqual(3_600_000);
      expect(h.paydayOffsetMs).toBeLessThan(h.payPeriodMs);
      if (h.customer.accountCurrency === 'EUR') {
        expect(h.salaryMinor).toBeGreaterThanOrEqual(1_200_00);
        expect(h.salaryMinor).toBeLessThanOrEqual(4_000_00);
      }
    }
    // Seeded, so exact: a third with an overdraft, a few already broke when the world starts.
    expect(holders.filter((h) => h.overdraftLimitMinor > 0)).toHaveLength(680);
    expect(holders.filter((h) => h.openingMinor === 0)).toHaveLength(15);
    const gbp = holders.find((h) => h.customer.accountCurrency === 'GBP' && h.overdraftLimitMinor > 0)!;
    expect(accountRequestOf(gbp)).toEqual({
      type: 'customer',
      currency: 'GBP',
      policy: {
        overdraftLimit: { value: (gbp.overdraftLimitMinor / 100).toFixed(2), currency: 'GBP' },
      },
    });
  });
});

describe('Payroll', () => {
  const holders = holdersOf({ ...world, customers: 50, policyShare: 1 });
  const HORIZON = START + 3 * 86_400_000;

  function payUntil(payroll: Payroll, untilMs: number): Array<{ timeMs: number; accountId: string }> {
    const paid: Array<{ timeMs: number; accountId: string }> = [];
    while (payroll.nextTimeMs() < untilMs) {
      const event = payroll.pop();
      paid.push({ timeMs: event.timeMs, accountId: event.payeeAccountId });
    }
    return paid;
  }

  it('pays each holder its salary on every payday, in time order', () => {
    const paid = payUntil(new Payroll(holders, START), HORIZON);
    expect(paid.every((p, i) => i === 0 || p.timeMs >= paid[i - 1]!.timeMs)).toBe(true);
    for (const h of holders) {
      const times = paid.filter((p) => p.accountId === h.customer.accountId).map((p) => p.timeMs);
      const expected = Math.floor((HORIZON - 1 - START - h.paydayOffsetMs) / h.payPeriodMs) + 1;
      expect(times).toEqual(Array.from({ length: expected }, (_, k) => START + h.paydayOffsetMs + k * h.payPeriodMs));
    }
  });

  it('continues exactly after save and restore, ties included', () => {
    // Two holders paid at the same instant: the tie goes by customer index, on both sides of a restore.
    const twins = [
      holders[1]!,
      { ...holders[0]!, paydayOffsetMs: holders[1]!.paydayOffsetMs, payPeriodMs: holders[1]!.payPeriodMs },
    ];
    for (const group of [holders, twins]) {
      const whole = payUntil(new Payroll(group, START), HORIZON);
      for (const cut of [0, 1, 7, Math.floor(whole.length / 2)]) {
        const first = new Payroll(group, START);
        for (let i = 0; i < cut; i++) first.pop();
        const resumed = new Payroll(group, START);
        resumed.restore(JSON.parse(JSON.stringify(first.save())) as ReturnType<Payroll['save']>);
        expect([...whole.slice(0, cut), ...payUntil(resumed, HORIZON)]).toEqual(whole);
      }
    }
    // Negative control: a payroll that forgets where it was pays the first salaries again.
    const whole = payUntil(new Payroll(holders, START), HORIZON);
    expect([whole[0], ...payUntil(new Payroll(holders, START), HORIZON)]).not.toEqual(whole);
  });

  it('refuses a malformed state', () => {
    expect(() => new Payroll(holders, START).restore({ last: [1.5, 0] })).toThrow(RangeError);
  });
});

describe('the stream of a world with balance policies', () => {
  const options = { ...world, customers: 300, terminals: 1_000, meanTxPerCustomerPerDay: 20, policyShare: 0.5 };

  it('is the stream without policies with salaries merged in by time', () => {
    const withPolicies = take(new TrafficSimulator(options), 6_000);
    const without = take(new TrafficSimulator({ ...options, policyShare: 0 }), 6_000);
    const salaries = withPolicies.filter(isSalary);
    // Seeded, so exact: about two days of 150 holders' salaries, paid every few hours to every few days.
    expect(salaries).toHaveLength(149);
    const content = (r: TransactionRequest) => ({ ...r, transactionId: '', bankTransfer: undefined });
    const rest = withPolicies.filter((r) => !isSalary(r));
    expect(rest.map(content)).toEqual(without.slice(0, rest.length).map(content));
    const times = withPolicies.map((r) => Date.parse(r.eventTime!));
    expect(times.every((t, i) => i === 0 || t >= times[i - 1]!)).toBe(true);
    const holders = new Set(
      indexes(new TrafficSimulator(options).policyHolders).map((i) => `acct-${String(i).padStart(6, '0')}`),
    );
    expect(salaries.every((s) => holders.has(s.payee.accountId) && s.kind === 'transfer')).toBe(true);
  });

  it('at share 0 is exactly the stream of a world that never heard of policies', () => {
    const { policyShare: _ignored, ...legacy } = options;
    expect(take(new TrafficSimulator({ ...options, policyShare: 0 }), 3_000)).toEqual(
      take(new TrafficSimulator(legacy), 3_000),
    );
  });

  it('is the same for the same seed, and continues exactly after save and restore', () => {
    const uninterrupted = new TrafficSimulator(options);
    const interrupted = new TrafficSimulator(options);
    take(uninterrupted, 2_500);
    take(interrupted, 2_500);
    interrupted.markAccountSetUp({ policiesSet: 40, openingsSent: 30 });
    const resumed = TrafficSimulator.restore(throughJson(interrupted.save()));
    expect(resumed.accountSetUp).toEqual({ policiesSet: 40, openingsSent: 30, setAhead: [] });
    const rest = take(uninterrupted, 3_000);
    expect(take(resumed, 3_000)).toEqual(rest);
    // Negative control: the same state without the payroll's place pays salaries again.
    const { payroll: _forgotten, ...withoutPayroll } = throughJson(interrupted.save());
    expect(take(TrafficSimulator.restore(withoutPayroll), 3_000)).not.toEqual(rest);
  });

  it('restores a state saved before policies existed as a world without them', () => {
    const simulator = new TrafficSimulator({ ...options, policyShare: 0 });
    take(simulator, 1_000);
    const { payroll: _p, accountSetUp: _a, ...saved } = simulator.save();
    const { policyShare: _s, ...oldOptions } = saved.options;
    const resumed = TrafficSimulator.restore(throughJson({ ...saved, options: oldOptions } as SimulatorState));
    expect(resumed.policyHolders).toEqual([]);
    expect(take(resumed, 1_000)).toEqual(take(simulator, 1_000));
  });

  it('refuses set-up progress outside its holders', () => {
    const simulator = new TrafficSimulator(options);
    expect(() => simulator.markAccountSetUp({ policiesSet: 5, openingsSent: 6 })).toThrow(RangeError);
    expect(() =>
      simulator.markAccountSetUp({ policiesSet: simulator.policyHolders.length + 1, openingsSent: 0 }),
    ).toThrow(RangeError);
  });

  it('runs some holders out of money: the funds rule declines an exact number of their debits, nobody else’s', () => {
    const simulator = new TrafficSimulator(options);
    const model = new FundsModel(simulator.policyHolders);
    for (const holder of simulator.policyHolders) {
      const opening = simulator.openingDepositRequest(holder);
      if (opening !== undefined) expect(model.apply(opening)).toBe(false);
    }
    const requests = take(simulator, 6_000);
    const declined = requests.filter((r) => model.apply(r));
    // Seeded, so exact; a few percent of the holders' debits.
    expect(declined).toHaveLength(105);
    expect(declined.every((r) => model.isGuarded(r.payer.accountId) && !isSalary(r))).toBe(true);
    // Negative control: the same traffic with nobody guarded declines nothing.
    const unguarded = new FundsModel([]);
    expect(requests.filter((r) => unguarded.apply(r))).toHaveLength(0);
  });
});
