import { ValidationError } from '../platform/errors.js';
import { HIGH_AMOUNT_THRESHOLD } from './fraud-scenarios.js';
import { TrafficSimulator } from './generator.js';
import type { TrafficEvent } from './traffic-event.js';
import { currencyExponent } from './money.js';
import { isValidPan } from '../platform/pan.js';
import { FraudScenario, type SimulatedTransaction } from './types.js';

const DAY_MS = 86_400_000;
const small = { customers: 2_000, terminals: 4_000 } as const;

/** Minor units of a decimal string, checking it has exactly the currency's exponent of fraction digits. */
function minorOf(value: string, currency: string): bigint {
  const exponent = currencyExponent(currency);
  const pattern = exponent === 0 ? /^(0|[1-9]\d*)$/ : new RegExp(`^(0|[1-9]\\d*)\\.\\d{${exponent}}$`);
  if (!pattern.test(value)) throw new Error(`${value} is not a ${currency} decimal string`);
  return BigInt(value.replace('.', ''));
}

function kilometres(a: { latitude: number; longitude: number }, b: { latitude: number; longitude: number }): number {
  const rad = Math.PI / 180;
  const h =
    Math.sin(((b.latitude - a.latitude) * rad) / 2) ** 2 +
    Math.cos(a.latitude * rad) * Math.cos(b.latitude * rad) * Math.sin(((b.longitude - a.longitude) * rad) / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.sqrt(h));
}

/** Collects failed checks (the first 20), so a loop over thousands of records asserts once. */
class Problems {
  readonly list: string[] = [];
  check(ok: boolean, at: string, what: string): void {
    if (!ok && this.list.length < 20) this.list.push(`${at}: ${what}`);
  }
}

describe('TrafficSimulator', () => {
  // One long run shared by the property tests: 3× fraud so every scenario shows up many times.
  let simulator: TrafficSimulator;
  let run: SimulatedTransaction[];
  beforeAll(() => {
    simulator = new TrafficSimulator({ seed: 11, ...small, fraudScale: 3 });
    run = simulator.take(60_000);
  });

  it('gives the same stream for the same seed and a different one for another seed', () => {
    const a = new TrafficSimulator({ seed: 42, ...small }).take(3_000);
    const b = new TrafficSimulator({ seed: 42, ...small }).take(3_000);
    const c = new TrafficSimulator({ seed: 43, ...small }).take(3_000);
    expect(b).toEqual(a);
    expect(c.map((t) => t.request)).not.toEqual(a.map((t) => t.request));
    expect(c.map((t) => t.request.amount.value)).not.toEqual(a.map((t) => t.request.amount.value));
  });

  it('produces non-decreasing event times from startTimeMs, with unique deterministic ids', () => {
    const start = simulator.options.startTimeMs;
    expect(run[0]!.transaction.eventTimeMs).toBeGreaterThanOrEqual(start);
    const backwards = run.filter((t, i) => i > 0 && t.transaction.eventTimeMs < run[i - 1]!.transaction.eventTimeMs);
    expect(backwards).toEqual([]);
    expect(run.map((t) => t.request.transactionId)).toEqual(run.map((_, i) => `sim-11-${i}`));
  });

  it('writes valid requests: decimal strings by currency exponent, Luhn-valid card numbers, ISO event times', () => {
    // Checked in plain code and asserted once: a million separate expect() calls would take a minute.
    const problems = new Problems();
    const idPattern = /^[A-Za-z0-9._:-]{1,128}$/;
    for (const { request } of run) {
      const at = request.transactionId;
      problems.check(idPattern.test(request.transactionId), at, 'transactionId');
      problems.check(minorOf(request.amount.value, request.amount.currency) > 0n, at, 'amount > 0');
      if (request.settlementAmount) {
        problems.check(
          minorOf(request.settlementAmount.value, request.settlementAmount.currency) > 0n,
          at,
          'settlement > 0',
        );
        problems.check(
          request.settlementAmount.currency !== request.amount.currency,
          at,
          'settlement currency differs',
        );
      }
      if (request.channel === 'card') {
        const number = request.card?.number ?? '';
        problems.check(isValidPan(number), at, 'Luhn-valid card number');
        problems.check(/^(411111|555555|400000)/.test(number), at, 'test BIN');
        problems.check(request.card?.present !== undefined, at, 'card present flag');
      } else {
        problems.check(request.card === undefined, at, 'no card outside the card channel');
      }
      problems.check(new Date(request.eventTime!).toISOString() === request.eventTime, at, 'ISO event time');
      for (const id of [
        request.payer.accountId,
        request.payee.accountId,
        request.payer.customerId,
        request.device?.id,
        request.merchant?.terminalId,
      ]) {
        if (id !== undefined) problems.check(idPattern.test(id), at, `id ${id}`);
      }
      if (request.merchant?.mcc !== undefined) problems.check(/^\d{4}$/.test(request.merchant.mcc), at, 'mcc');
      if (request.location?.country !== undefined)
        problems.check(/^[A-Z]{2}$/.test(request.location.country), at, 'country');
    }
    expect(problems.list).toEqual([]);
  });

  it('gives the canonical record the request amounts in minor units and the ingest field mapping', () => {
    const problems = new Problems();
    for (const { request, transaction } of run) {
      const at = request.transactionId;
      problems.check(transaction.transactionId === request.transactionId, at, 'transactionId');
      problems.check(
        transaction.amountMinor === minorOf(request.amount.value, request.amount.currency),
        at,
        'amountMinor',
      );
      problems.check(transaction.currency === request.amount.currency, at, 'currency');
      if (request.settlementAmount) {
        problems.check(
          transaction.settlement?.amountMinor ===
            minorOf(request.settlementAmount.value, request.settlementAmount.currency),
          at,
          'settlement amount',
        );
        problems.check(
          transaction.settlement?.currency === request.settlementAmount.currency,
          at,
          'settlement currency',
        );
      } else {
        problems.check(transaction.settlement === null, at, 'no settlement');
      }
      problems.check(transaction.channel === request.channel.toUpperCase(), at, 'channel');
      problems.check(transaction.kind === request.kind!.toUpperCase(), at, 'kind');
      problems.check(transaction.eventTimeMs === Date.parse(request.eventTime!), at, 'eventTimeMs');
      problems.check(transaction.receivedAtMs === transaction.eventTimeMs, at, 'receivedAtMs');
      problems.check(transaction.source === 'SIMULATOR' && transaction.channelReference === null, at, 'source');
      problems.check(transaction.customerId === request.payer.customerId, at, 'customerId');
      problems.check(
        transaction.payerAccountId === request.payer.accountId &&
          transaction.payeeAccountId === request.payee.accountId,
        at,
        'accounts',
      );
      problems.check(
        transaction.deviceId === (request.device?.id ?? null) && transaction.ipAddress === (request.device?.ip ?? null),
        at,
        'device',
      );
      problems.check(transaction.latitude === (request.location?.latitude ?? null), at, 'latitude');
      problems.check(/^[0-9a-f]{64}$/.test(transaction.fingerprint), at, 'fingerprint');
      if (request.card) {
        const card = transaction.card;
        problems.check(card !== null && /^simtok_[0-9a-f]{24}$/.test(card.token), at, 'token');
        problems.check(
          card?.bin === request.card.number!.slice(0, 6) && card.last4 === request.card.number!.slice(-4),
          at,
          'bin/last4',
        );
        problems.check(card?.present === request.card.present, at, 'present');
        problems.check(
          !JSON.stringify({ ...transaction, amountMinor: 0, settlement: null }).includes(request.card.number!),
          at,
          'no PAN in the record',
        );
      } else {
        problems.check(transaction.card === null, at, 'no card');
      }
    }
    expect(problems.list).toEqual([]);
  });

  it('keeps one stable token per card number', () => {
    const tokensOf = new Map<string, Set<string>>();
    const numbersOf = new Map<string, Set<string>>();
    for (const { request, transaction } of run) {
      if (!request.card?.number || !transaction.card) continue;
      tokensOf.set(request.card.number, (tokensOf.get(request.card.number) ?? new Set()).add(transaction.card.token));
      numbersOf.set(
        transaction.card.token,
        (numbersOf.get(transaction.card.token) ?? new Set()).add(request.card.number),
      );
    }
    expect(tokensOf.size).toBeGreaterThan(500);
    expect([...tokensOf.values()].filter((tokens) => tokens.size !== 1)).toEqual([]);
    expect([...numbersOf.values()].filter((numbers) => numbers.size !== 1)).toEqual([]);
  });

  it('mixes channels and currencies, with FX settlement for foreign spending', () => {
    const channels = new Set(run.map((t) => t.request.channel));
    expect([...channels].sort()).toEqual(['ach', 'card', 'cash', 'p2p', 'sepa', 'wallet', 'wire']);
    const cardShare = run.filter((t) => t.request.channel === 'card').length / run.length;
    expect(cardShare).toBeGreaterThan(0.7);
    const currencies = new Set(run.map((t) => t.request.amount.currency));
    expect(currencies).toEqual(new Set(['EUR', 'GBP', 'USD']));
    const fxCard = run.filter((t) => t.request.channel === 'card' && t.request.settlementAmount !== undefined);
    expect(fxCard.length).toBeGreaterThan(100);
  });

  it('injects every fraud scenario with its label', () => {
    const counts = new Map<string, number>();
    for (const t of run) if (t.scenario) counts.set(t.scenario, (counts.get(t.scenario) ?? 0) + 1);
    expect(run.filter((t) => t.fraud !== (t.scenario !== null))).toEqual([]);
    for (const scenario of Object.values(FraudScenario)) expect(counts.get(scenario) ?? 0).toBeGreaterThan(5);
  });

  it('shapes each scenario as described', () => {
    const customers = simulator.population.customers;
    const byCustomer = (t: SimulatedTransaction): (typeof customers)[number] =>
      customers[Number(t.request.payer.customerId!.slice(5))]!;
    for (const t of run) {
      if (t.scenario === null) continue;
      const { request } = t;
      const customer = byCustomer(t);
      switch (t.scenario) {
        case FraudScenario.highAmount:
          expect(request.channel).toBe('card');
          expect(Number(request.amount.value)).toBeGreaterThan(HIGH_AMOUNT_THRESHOLD);
          break;
        case FraudScenario.cardTesting:
          expect(request.channel).toBe('card');
          expect(request.card?.present).toBe(false);
          expect(Number(request.amount.value)).toBeGreaterThanOrEqual(0.5);
          expect(Number(request.amount.value)).toBeLessThanOrEqual(2);
          expect(customer.devices.map((d) => d.id)).not.toContain(request.device?.id);
          break;
        case FraudScenario.accountTakeover: {
          expect(['sepa', 'wire', 'wallet', 'p2p']).toContain(request.channel);
          expect(request.device).toBeDefined();
          expect(customer.devices.map((d) => d.id)).not.toContain(request.device!.id);
          expect(customer.payees.map((p) => p.accountId)).not.toContain(request.payee.accountId);
          const home = { latitude: customer.home.latitude!, longitude: customer.home.longitude! };
          expect(
            kilometres(home, { latitude: request.location!.latitude!, longitude: request.location!.longitude! }),
          ).toBeGreaterThan(1_000);
          expect(Number(request.amount.value)).toBeGreaterThanOrEqual(Math.max(1_500, customer.transferMean * 5));
          break;
        }
        case FraudScenario.structuring:
          expect(request.channel).toBe('cash');
          expect(request.kind).toBe('deposit');
          expect(request.payee.accountId).toBe(customer.accountId);
          expect(Number(request.amount.value)).toBeGreaterThanOrEqual(9_000);
          expect(Number(request.amount.value)).toBeLessThan(10_000);
          break;
        case FraudScenario.leakedCredentials:
        case FraudScenario.compromisedTerminal:
          expect(request.channel).toBe('card');
          break;
      }
    }
  });

  it('runs card testing as bursts of tiny payments on one card within minutes', () => {
    const bursts = new Map<string, number[]>();
    for (const t of run) {
      if (t.scenario !== FraudScenario.cardTesting) continue;
      const key = `${t.transaction.card!.token}/${t.transaction.deviceId}`;
      bursts.set(key, [...(bursts.get(key) ?? []), t.transaction.eventTimeMs]);
    }
    expect(bursts.size).toBeGreaterThan(2);
    for (const times of bursts.values()) {
      expect(times.length).toBeGreaterThanOrEqual(5);
      expect(times.length).toBeLessThanOrEqual(20);
      expect(times[times.length - 1]! - times[0]!).toBeLessThan(15 * 60_000);
    }
  });

  it('marks every card transaction at a compromised terminal as fraud for the rest of that day', () => {
    // Cold start, so a terminal's first fraud marks the first day of its 28-day window or later.
    const events: TrafficEvent[] = [];
    const cold = new TrafficSimulator({ seed: 5, ...small, warmStart: false, fraudScale: 5 });
    for (let e = cold.nextEvent(); e.day < 3; e = cold.nextEvent()) events.push(e);
    const firstFraud = new Map<number, TrafficEvent>();
    for (const e of events) {
      if (e.scenario === FraudScenario.compromisedTerminal && !firstFraud.has(e.terminal!.index))
        firstFraud.set(e.terminal!.index, e);
    }
    expect(firstFraud.size).toBeGreaterThan(3);
    let checked = 0;
    for (const e of events) {
      const first = e.channel === 'card' && e.terminal ? firstFraud.get(e.terminal.index) : undefined;
      if (first === undefined || e.timeMs < first.timeMs) continue;
      expect(e.fraud).toBe(true);
      checked++;
    }
    expect(checked).toBeGreaterThan(firstFraud.size);
  });

  it('has about 1 % fraud by default, scaled by fraudScale, and none at scale 0', () => {
    const rate = (fraudScale: number): number => {
      const sim = new TrafficSimulator({ seed: 3, ...small, fraudScale });
      let fraud = 0;
      const n = 40_000;
      for (let i = 0; i < n; i++) if (sim.nextEvent().fraud) fraud++;
      return fraud / n;
    };
    const base = rate(1);
    expect(base).toBeGreaterThan(0.006);
    expect(base).toBeLessThan(0.016);
    expect(rate(3)).toBeGreaterThan(2 * base);
    expect(rate(0)).toBe(0);
  });

  it('restricts handbook mode to EUR card purchases and the three handbook scenarios', () => {
    const sim = new TrafficSimulator({ seed: 9, ...small, handbookMode: true, fraudScale: 3 });
    const scenarios = new Set<string | null>();
    const problems = new Problems();
    for (const t of sim.take(20_000)) {
      problems.check(t.request.channel === 'card', t.request.transactionId, 'card');
      problems.check(
        t.request.amount.currency === 'EUR' && t.request.settlementAmount === undefined,
        t.request.transactionId,
        'EUR, no FX',
      );
      scenarios.add(t.scenario);
    }
    expect(problems.list).toEqual([]);
    expect(scenarios).toEqual(
      new Set([null, FraudScenario.highAmount, FraudScenario.compromisedTerminal, FraudScenario.leakedCredentials]),
    );
  });

  it('keeps each customer to terminals within radius 5 and times within their day', () => {
    const sim = new TrafficSimulator({ seed: 4, ...small, handbookMode: true });
    const problems = new Problems();
    for (let i = 0; i < 20_000; i++) {
      const e = sim.nextEvent();
      const dx = e.terminal!.x - e.customer.x;
      const dy = e.terminal!.y - e.customer.y;
      problems.check(dx * dx + dy * dy < 25, String(e.seq), 'terminal within radius 5');
      problems.check(Math.floor((e.timeMs - sim.options.startTimeMs) / DAY_MS) === e.day, String(e.seq), 'day');
    }
    expect(problems.list).toEqual([]);
  });

  it('rejects bad options, listing every problem with its path', () => {
    let error: unknown;
    try {
      new TrafficSimulator({ customers: 0, fraudScale: -1, channelMix: { card: 0 }, currencies: { XXX: 1 } });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).problems.map((p) => p.path)).toEqual(
      expect.arrayContaining(['/customers', '/fraudScale', '/channelMix', '/currencies/XXX']),
    );
  });
});
