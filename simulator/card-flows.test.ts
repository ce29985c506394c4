import {
  AUTHORISE_FIRST_SHARE,
  CAPTURE_DELAY_MIN_MS,
  FOLLOW_UP_HORIZON_MS,
  FUEL_PREAUTH_MAJOR,
  NEVER_CAPTURED_SHARE,
  PARTIAL_REFUND_SHARE,
  REFUND_DELAY_MIN_MS,
  REFUND_SHARE,
  SPLIT_SHIPMENT_SHARE,
  TIP_MAX,
  TIP_MIN,
} from './card-flows.js';
import { TrafficSimulator } from './generator.js';
import { handbookCsvChunks, HandbookRowFormatter } from './handbook-csv.js';
import { currencyExponent } from './money.js';
import type { SimulatorState } from './state.js';
import type { TrafficEvent } from './traffic-event.js';

const world = { seed: 11, customers: 2_000, terminals: 4_000, fraudScale: 3, cardFlows: true } as const;
const RUN = 60_000;

/** A state as it comes back from a file: through JSON, so nothing but plain data survives. */
const throughJson = (state: SimulatorState): SimulatorState => JSON.parse(JSON.stringify(state)) as SimulatorState;

function take(simulator: TrafficSimulator, n: number): TrafficEvent[] {
  return Array.from({ length: n }, () => simulator.nextEvent());
}

type Category = 'lodging' | 'carRental' | 'fuel' | 'restaurant' | 'eCommerce';
function categoryOf(e: TrafficEvent): Category | undefined {
  if (e.terminal === null) return undefined;
  if (!e.terminal.cardPresent) return 'eCommerce';
  const byMcc: Record<string, Category> = {
    '7011': 'lodging',
    '7512': 'carRental',
    '5541': 'fuel',
    '5542': 'fuel',
    '5812': 'restaurant',
    '5814': 'restaurant',
  };
  return byMcc[e.terminal.mcc];
}

const sum = (values: ReadonlyArray<number | null>): number => values.reduce<number>((a, b) => a + (b ?? 0), 0);

/**
 * Every rule of card flows over a stream, as a list of problems (empty when it keeps them all): a capture names an
 * earlier authorisation of the same payer account, card and terminal, a refund an earlier genuine purchase or
 * capture; follow-ups come after what they name and carry its fraud label (captures) or none (refunds); every event
 * early enough for all its follow-ups to be in the stream has exactly the follow-ups scheduled for it (none lost,
 * none twice), and an authorisation's captures follow its merchant's rule.
 */
function cardFlowProblems(events: readonly TrafficEvent[]): string[] {
  const problems: string[] = [];
  const bySeq = new Map(events.map((e) => [e.seq, e]));
  const followUpsOf = new Map<number, TrafficEvent[]>();
  for (const e of events) {
    const at = `${e.kind} ${e.seq}`;
    if (e.originalSeq === null) {
      if (e.kind === 'capture' || e.kind === 'refund') problems.push(`${at}: names nothing`);
      continue;
    }
    const original = bySeq.get(e.originalSeq);
    if (original === undefined || original.seq >= e.seq) {
      problems.push(`${at}: names ${e.originalSeq}, not an earlier event`);
      continue;
    }
    followUpsOf.set(original.seq, [...(followUpsOf.get(original.seq) ?? []), e]);
    if (e.kind === 'capture' && original.kind !== 'authorization') problems.push(`${at}: names a ${original.kind}`);
    if (e.kind === 'refund' && original.kind !== 'purchase' && original.kind !== 'capture')
      problems.push(`${at}: names a ${original.kind}`);
    if (
      e.payerAccountId !== original.payerAccountId ||
      e.payeeAccountId !== original.payeeAccountId ||
      e.card?.number !== original.card?.number ||
      e.terminal?.index !== original.terminal?.index
    )
      problems.push(`${at}: not the payer, payee, card and terminal of ${original.seq}`);
    const minDelay = e.kind === 'capture' ? CAPTURE_DELAY_MIN_MS : REFUND_DELAY_MIN_MS;
    if (e.timeMs < original.timeMs + minDelay) problems.push(`${at}: too soon after ${original.seq}`);
    if (e.kind === 'capture' && (e.fraud !== original.fraud || e.scenario !== original.scenario))
      problems.push(`${at}: labelled otherwise than its authorisation`);
    if (e.kind === 'refund') {
      if (e.fraud || original.fraud) problems.push(`${at}: a refund of fraud, or labelled fraud`);
      if (e.amountMinor > original.amountMinor || sum([e.settlementMinor]) > sum([original.settlementMinor]))
        problems.push(`${at}: more than ${original.seq}`);
    }
  }
  const lastMs = events[events.length - 1]!.timeMs;
  for (const e of events) {
    const got = followUpsOf.get(e.seq) ?? [];
    const complete = e.timeMs <= lastMs - FOLLOW_UP_HORIZON_MS;
    if (got.length > e.followUps || (complete && got.length < e.followUps))
      problems.push(`${e.kind} ${e.seq}: ${got.length} follow-ups, ${e.followUps} scheduled`);
    if (e.kind !== 'authorization' || !complete || got.length === 0 || got.length !== e.followUps) continue;
    const amounts = got.map((c) => c.amountMinor);
    const fits = ((): boolean => {
      switch (categoryOf(e)) {
        case 'fuel':
          return (
            e.amountMinor === FUEL_PREAUTH_MAJOR * 10 ** currencyExponent(e.currency) &&
            got.length === 1 &&
            amounts[0]! < e.amountMinor
          );
        case 'restaurant': {
          const tip = amounts[0]! - e.amountMinor;
          const tipped = tip >= Math.max(1, Math.floor(e.amountMinor * TIP_MIN)) && tip <= e.amountMinor * TIP_MAX + 1;
          return got.length === 1 && (tip === 0 || tipped);
        }
        case 'eCommerce':
          return (
            got.length <= 3 &&
            sum(amounts) === e.amountMinor &&
            sum(got.map((c) => c.settlementMinor)) === sum([e.settlementMinor])
          );
        case 'lodging':
        case 'carRental':
          return got.length === 1 && amounts[0] === e.amountMinor && got[0]!.settlementMinor === e.settlementMinor;
        case undefined:
          return false;
      }
    })();
    if (!fits) problems.push(`authorization ${e.seq}: captures ${amounts.join('+')} break its merchant's rule`);
  }
  return problems;
}

describe('card flows', () => {
  let simulator: TrafficSimulator;
  let run: TrafficEvent[];
  beforeAll(() => {
    simulator = new TrafficSimulator(world);
    run = take(simulator, RUN);
  });

  it('keeps every rule: captures name an earlier authorisation of the same payer and card, refunds a payment', () => {
    expect(cardFlowProblems(run)).toEqual([]);
  });

  it('sends the expected shares of each flow, exactly for this seed', () => {
    const complete = run.filter((e) => e.timeMs <= run[RUN - 1]!.timeMs - FOLLOW_UP_HORIZON_MS);
    const captures = new Map<number, TrafficEvent[]>();
    for (const e of run)
      if (e.kind === 'capture') captures.set(e.originalSeq!, [...(captures.get(e.originalSeq!) ?? []), e]);
    const count = (p: (e: TrafficEvent) => boolean): number => complete.filter(p).length;
    const auth = (category: Category) => (e: TrafficEvent) => e.kind === 'authorization' && categoryOf(e) === category;
    const eligible = (category: Category) => (e: TrafficEvent) =>
      (e.kind === 'authorization' || (e.kind === 'purchase' && e.channel === 'card')) &&
      categoryOf(e) === category &&
      (category !== 'fuel' ||
        e.kind === 'authorization' ||
        e.amountMinor < FUEL_PREAUTH_MAJOR * 10 ** currencyExponent(e.currency));
    const parts = (n: number) => (e: TrafficEvent) => e.kind === 'authorization' && captures.get(e.seq)?.length === n;
    const refunds = complete.filter((e) => e.kind === 'refund');
    const figures = {
      cardPayments: count((e) => e.channel === 'card' && (e.kind === 'purchase' || e.kind === 'authorization')),
      lodging: [count(auth('lodging')), count(eligible('lodging'))],
      fuel: [count(auth('fuel')), count(eligible('fuel'))],
      restaurant: [count(auth('restaurant')), count(eligible('restaurant'))],
      eCommerce: [count(auth('eCommerce')), count(eligible('eCommerce'))],
      neverCaptured: count((e) => e.kind === 'authorization' && e.followUps === 0),
      splitInTwo: count((e) => categoryOf(e) === 'eCommerce' && parts(2)(e)),
      splitInThree: count((e) => categoryOf(e) === 'eCommerce' && parts(3)(e)),
      tipped: count(
        (e) => auth('restaurant')(e) && (captures.get(e.seq)?.[0]?.amountMinor ?? e.amountMinor) > e.amountMinor,
      ),
      refundable: count((e) => e.channel === 'card' && !e.fraud && (e.kind === 'purchase' || e.kind === 'capture')),
      refunds: [refunds.length, refunds.filter((r) => r.amountMinor < run[r.originalSeq!]!.amountMinor).length],
      refundsOfCaptures: refunds.filter((r) => run[r.originalSeq!]!.kind === 'capture').length,
      fraudCaptures: count((e) => e.kind === 'capture' && e.fraud),
    };
    // Seeded, so exact. The shares they show: lodging 0.9, fuel 0.6 (of fills under the pre-authorisation), restaurants
    // and online shops 0.5, never captured 0.03, split 0.25 of online, refunds 0.02 (0.4 of them partial).
    expect(figures).toEqual({
      cardPayments: 38_628,
      lodging: [2_063, 2_311],
      fuel: [1_187, 2_036],
      restaurant: [2_574, 5_188],
      eCommerce: [3_919, 7_990],
      neverCaptured: 291,
      splitInTwo: 516,
      splitInThree: 428,
      tipped: 1_105,
      refundable: 38_263,
      refunds: [783, 306],
      refundsOfCaptures: 221,
      fraudCaptures: 506,
    });
    // The exact counts are the configured shares within four standard deviations of a binomial draw.
    const near = (hits: number, trials: number, p: number): boolean =>
      Math.abs(hits - trials * p) <= 4 * Math.sqrt(trials * p * (1 - p));
    const authorisations = count((e) => e.kind === 'authorization');
    expect([
      near(figures.lodging[0]!, figures.lodging[1]!, AUTHORISE_FIRST_SHARE.lodging),
      near(figures.fuel[0]!, figures.fuel[1]!, AUTHORISE_FIRST_SHARE.fuel),
      near(figures.restaurant[0]!, figures.restaurant[1]!, AUTHORISE_FIRST_SHARE.restaurant),
      near(figures.eCommerce[0]!, figures.eCommerce[1]!, AUTHORISE_FIRST_SHARE.eCommerce),
      near(figures.neverCaptured, authorisations, NEVER_CAPTURED_SHARE),
      near(
        figures.splitInTwo + figures.splitInThree,
        figures.eCommerce[0]! * (1 - NEVER_CAPTURED_SHARE),
        SPLIT_SHIPMENT_SHARE,
      ),
      near(figures.refunds[0]!, figures.refundable, REFUND_SHARE),
      near(figures.refunds[1]!, figures.refunds[0]!, PARTIAL_REFUND_SHARE),
    ]).toEqual([true, true, true, true, true, true, true, true]);
  });

  it('leaves the world as it is without card flows: the same purchases and fraud, follow-ups merged in', () => {
    const without = take(new TrafficSimulator({ ...world, cardFlows: false }), 20_000);
    const originals = run.filter((e) => e.originalSeq === null).slice(0, without.length);
    const shape = (e: TrafficEvent) => [e.timeMs, e.customer.index, e.channel, e.terminal?.index, e.fraud, e.scenario];
    expect(originals.map(shape)).toEqual(without.map(shape));
    // Negative control: one original lost is seen.
    expect(originals.filter((_, i) => i !== 500).map(shape)).not.toEqual(without.map(shape));
  });

  it('gives the same stream for the same seed and another for another seed', () => {
    const a = new TrafficSimulator(world).take(5_000);
    expect(new TrafficSimulator(world).take(5_000)).toEqual(a);
    expect(new TrafficSimulator({ ...world, seed: 12 }).take(5_000).map((t) => t.request)).not.toEqual(
      a.map((t) => t.request),
    );
  });

  it('sends captures and refunds naming their original by request id, in the request and the canonical record', () => {
    const sim = new TrafficSimulator(world);
    const sent = sim.take(3_000);
    const followUps = sent.filter((t) => t.request.kind === 'capture' || t.request.kind === 'refund');
    const problems = followUps.filter(
      (t) =>
        !/^sim-11-\d+$/.test(t.request.originalTransactionId ?? '') ||
        t.transaction.originalTransactionId !== t.request.originalTransactionId,
    );
    expect([followUps.length, problems]).toEqual([625, []]);
    const others = sent.filter((t) => t.request.kind !== 'capture' && t.request.kind !== 'refund');
    expect(
      others.filter((t) => 'originalTransactionId' in t.request || t.transaction.originalTransactionId !== null),
    ).toEqual([]);
  });

  describe('negative controls: the rules catch', () => {
    const firstOf = (p: (e: TrafficEvent) => boolean): TrafficEvent => run.find(p)!;
    const planted = (seq: number, change: Partial<TrafficEvent>): TrafficEvent[] =>
      run.map((e) => (e.seq === seq ? { ...e, ...change } : e));

    it('a capture naming another payer’s authorisation', () => {
      const capture = firstOf((e) => e.kind === 'capture' && e.seq > 1_000);
      const other = firstOf((e) => e.kind === 'authorization' && e.payerAccountId !== capture.payerAccountId);
      expect([capture.seq, other.seq, run[capture.originalSeq!]!.seq]).toEqual([1_005, 2, 996]);
      expect(cardFlowProblems(planted(capture.seq, { originalSeq: other.seq }))).toEqual([
        'capture 1005: not the payer, payee, card and terminal of 2',
        'authorization 2: 2 follow-ups, 1 scheduled',
        'authorization 996: 0 follow-ups, 1 scheduled',
      ]);
    });

    it('split captures that do not sum to the authorisation', () => {
      const split = firstOf((e) => e.kind === 'capture' && run[e.originalSeq!]!.followUps === 3);
      expect(cardFlowProblems(planted(split.seq, { amountMinor: split.amountMinor + 1 }))).toEqual([
        `authorization ${split.originalSeq}: captures 1587+1612+893 break its merchant's rule`,
      ]);
    });

    it('a refund naming a later payment, and a capture of a fraudulent authorisation labelled genuine', () => {
      const refund = firstOf((e) => e.kind === 'refund');
      const fraudCapture = firstOf((e) => e.kind === 'capture' && e.fraud);
      expect([refund.seq, refund.originalSeq]).toEqual([26, 24]);
      expect(cardFlowProblems(planted(refund.seq, { originalSeq: refund.seq + 1 }))).toEqual([
        'refund 26: names 27, not an earlier event',
        'purchase 24: 0 follow-ups, 1 scheduled',
      ]);
      expect(cardFlowProblems(planted(fraudCapture.seq, { fraud: false, scenario: null }))).toEqual([
        `capture ${fraudCapture.seq}: labelled otherwise than its authorisation`,
      ]);
    });

    it('a lost capture and a capture sent twice', () => {
      const capture = firstOf((e) => e.kind === 'capture');
      const problem = (got: number) => `authorization ${capture.originalSeq}: ${got} follow-ups, 1 scheduled`;
      expect(cardFlowProblems(run.filter((e) => e !== capture))).toEqual([problem(0)]);
      expect(cardFlowProblems([...run, { ...capture, seq: RUN, timeMs: run[RUN - 1]!.timeMs }])).toEqual([problem(2)]);
    });
  });
});

describe('card flows across save / restore', () => {
  // Busy (about 80,000 transactions a simulated day), so dozens of follow-ups are pending at any moment.
  const busy = { ...world, meanTxPerCustomerPerDay: 40 } as const;

  it.each([
    ['before the first transaction', 0, 0],
    ['a few hours in', 12_345, 40],
    ['half a day in', 41_000, 41],
  ])(
    'sends each follow-up exactly once when saved %s',
    (_name, at, pendingAtSave) => {
      const uninterrupted = new TrafficSimulator(busy);
      const interrupted = new TrafficSimulator(busy);
      const before = take(interrupted, at);
      take(uninterrupted, at);
      const state = throughJson(interrupted.save());
      const pending = state.cardFlows!.pending.items.length;
      const resumed = TrafficSimulator.restore(state);
      const after = take(resumed, 20_000);
      expect(take(uninterrupted, 20_000).map((e) => ({ ...e }))).toEqual(after.map((e) => ({ ...e })));
      expect([pending, cardFlowProblems([...before, ...after])]).toEqual([pendingAtSave, []]);
    },
    60_000,
  );

  /** The problem `cardFlowProblems` reports for `original` when it got `got` follow-ups. */
  const miscount = (original: TrafficEvent, got: number): string =>
    `${original.kind} ${original.seq}: ${got} follow-ups, ${original.followUps} scheduled`;
  /** How many of `state`'s pending follow-ups name each original, by its seq, in seq order. */
  const pendingByOriginal = (state: SimulatorState): Map<number, number> => {
    const counts = new Map<number, number>();
    for (const [, e] of state.cardFlows!.pending.items)
      counts.set(e.originalSeq!, (counts.get(e.originalSeq!) ?? 0) + 1);
    return new Map([...counts].sort(([a], [b]) => a - b));
  };

  it('negative control: a resume that forgets the pending follow-ups loses exactly those', () => {
    const interrupted = new TrafficSimulator(busy);
    const before = take(interrupted, 12_345);
    const state = throughJson(interrupted.save());
    const forgetful = TrafficSimulator.restore({
      ...state,
      cardFlows: { ...state.cardFlows!, pending: { inserted: 0, items: [] } },
    });
    const expected = [...pendingByOriginal(state)].map(([seq, n]) =>
      miscount(before[seq]!, before[seq]!.followUps - n),
    );
    expect(expected.length).toBe(36);
    expect(cardFlowProblems([...before, ...take(forgetful, 20_000)])).toEqual(expected);
  });

  it('negative control: a resume that replays follow-ups already sent sends them twice', () => {
    const interrupted = new TrafficSimulator(busy);
    const before = take(interrupted, 6_000);
    const early = throughJson(interrupted.save());
    before.push(...take(interrupted, 300));
    const late = throughJson(interrupted.save());
    // The early follow-ups again beside the late ones (sorted by time then order: a valid heap).
    const lateItems = late.cardFlows!.pending.items;
    const earlyItems = early.cardFlows!.pending.items.map(
      ([order, e]) => [order + late.cardFlows!.pending.inserted, e] as const,
    );
    const items = [...lateItems, ...earlyItems].sort(([a, x], [b, y]) => x.timeMs - y.timeMs || a - b);
    const replaying = TrafficSimulator.restore({
      ...late,
      cardFlows: { ...late.cardFlows!, pending: { inserted: late.cardFlows!.pending.inserted * 2, items } },
    });
    const expected = [...pendingByOriginal(early)].map(([seq, n]) =>
      miscount(before[seq]!, before[seq]!.followUps + n),
    );
    expect(expected.length).toBe(15);
    expect(cardFlowProblems([...before, ...take(replaying, 20_000)])).toEqual(expected);
  });

  it('resumes a world saved before card flows existed without follow-ups, exactly as it would have gone on', () => {
    const old = { ...world, cardFlows: undefined };
    const uninterrupted = new TrafficSimulator(old);
    const interrupted = new TrafficSimulator(old);
    take(uninterrupted, 5_000);
    take(interrupted, 5_000);
    const saved = throughJson(interrupted.save()) as SimulatorState & { options: Record<string, unknown> };
    const { cardFlows: _dropped, ...optionsBefore } = saved.options;
    const resumed = TrafficSimulator.restore({ ...saved, options: optionsBefore } as unknown as SimulatorState);
    expect([resumed.options.cardFlows, resumed.pendingFollowUps]).toEqual([false, 0]);
    expect(take(resumed, 5_000).map((e) => ({ ...e }))).toEqual(take(uninterrupted, 5_000).map((e) => ({ ...e })));
  });

  it('refuses a state whose options have card flows but which carries no follow-ups', () => {
    const { cardFlows: _dropped, ...state } = new TrafficSimulator(world).save();
    expect(() => TrafficSimulator.restore(state)).toThrow(/no card-flow state/);
  });
});

describe('card flows and the handbook', () => {
  it('are off in handbook mode: one row per purchase, the same bytes as without asking', () => {
    const options = { seed: 3, customers: 300, terminals: 600, days: 2 } as const;
    expect(new TrafficSimulator({ ...options, handbookMode: true, cardFlows: true }).options.cardFlows).toBe(false);
    const bytes = (cardFlows: boolean) => Buffer.concat([...handbookCsvChunks({ ...options, cardFlows })]);
    expect(bytes(true).equals(bytes(false))).toBe(true);
  });

  it('the row formatter refuses an authorisation (it would count the money twice)', () => {
    const sim = new TrafficSimulator(world);
    let event = sim.nextEvent();
    while (event.kind !== 'authorization') event = sim.nextEvent();
    expect(() => new HandbookRowFormatter(sim.options.startTimeMs).format(event)).toThrow(
      /authorization, not a purchase/,
    );
  });
});
