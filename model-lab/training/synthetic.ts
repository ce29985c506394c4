import type { Channel, Transaction, TransactionKind } from '../../schemas/generated/types.js';

/**
 * A small seeded generator of labelled multi-channel traffic, shaped after the fraud-detection handbook's
 * simulator (customers and terminals on a 100 × 100 grid, per-customer mean amounts, Poisson activity, times
 * around noon) plus the scenarios the live simulator injects: high amounts, compromised terminals, leaked
 * credentials (×5 amounts), card testing bursts, account takeover (new device, geo jump, large transfer out)
 * and cash structuring. Training uses it when simulator/generator.ts is not available, and unit tests use it
 * as a tiny deterministic source.
 */
export interface LabelledTransaction {
  readonly transaction: Transaction;
  readonly fraud: boolean;
}

export interface SyntheticOptions {
  readonly seed: number;
  readonly startTimeMs: number;
  readonly customers: number;
  readonly terminals: number;
  /** Activity mix: each customer draws a mean daily rate uniformly from one band, chosen with the band's share. */
  readonly activity?: ReadonlyArray<{ readonly share: number; readonly minPerDay: number; readonly maxPerDay: number }>;
  /** Multiplies how often fraud scenarios start (1 = handbook-like rates per 5,000 customers). */
  readonly fraudScale?: number;
}

/** mulberry32: a tiny, fast, seedable PRNG. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Customer {
  readonly id: string;
  readonly x: number;
  readonly y: number;
  readonly meanAmount: number;
  readonly perDay: number;
  readonly cardToken: string;
  readonly bin: string;
  readonly devices: string[];
  readonly payees: string[];
  readonly terminals: number[];
  readonly country: string;
}

interface Terminal {
  readonly id: string;
  readonly merchantId: string;
  readonly x: number;
  readonly y: number;
  readonly mcc: string;
  readonly country: string;
}

const DAY = 86_400_000;
const MCCS = ['5411', '5812', '5999', '5732', '4111', '5541', '5311', '7011'];
const COUNTRIES = ['GB', 'GB', 'GB', 'FR', 'DE', 'NL', 'ES'];

export class SyntheticTraffic {
  private readonly random: () => number;
  private readonly customers: Customer[] = [];
  private readonly terminalList: Terminal[] = [];
  private readonly compromised = new Map<number, number>();
  private readonly leaked = new Map<number, number>();
  private day = 0;
  private buffer: LabelledTransaction[] = [];
  private cursor = 0;
  private serial = 0;

  constructor(private readonly options: SyntheticOptions) {
    this.random = seededRandom(options.seed);
    const activity = options.activity ?? [{ share: 1, minPerDay: 0, maxPerDay: 4 }];
    for (let t = 0; t < options.terminals; t++) {
      this.terminalList.push({
        id: `T${t}`,
        merchantId: `M${t % Math.max(1, Math.floor(options.terminals / 2))}`,
        x: this.random() * 100,
        y: this.random() * 100,
        mcc: MCCS[t % MCCS.length]!,
        country: 'GB',
      });
    }
    for (let c = 0; c < options.customers; c++) {
      let pick = this.random();
      const band = activity.find((b) => (pick -= b.share) < 0) ?? activity[activity.length - 1]!;
      const x = this.random() * 100;
      const y = this.random() * 100;
      const near = this.terminalList
        .map((t, i) => ({ i, d: Math.hypot(t.x - x, t.y - y) }))
        .filter((e) => e.d < 5)
        .map((e) => e.i);
      this.customers.push({
        id: `C${c}`,
        x,
        y,
        meanAmount: 5 + this.random() * 95,
        perDay: band.minPerDay + this.random() * (band.maxPerDay - band.minPerDay),
        cardToken: `card-${c}`,
        bin: `4${String(100000 + (c % 50)).slice(1)}`,
        devices: [`dev-${c}-0`, ...(this.random() < 0.4 ? [`dev-${c}-1`] : [])],
        payees: [`ACC-P${c}-0`, `ACC-P${c}-1`],
        terminals: near.length > 0 ? near : [Math.floor(this.random() * options.terminals)],
        country: COUNTRIES[c % COUNTRIES.length]!,
      });
    }
  }

  /** The next transaction in event-time order. */
  next(): LabelledTransaction {
    while (this.cursor >= this.buffer.length) this.generateDay();
    return this.buffer[this.cursor++]!;
  }

  take(n: number): LabelledTransaction[] {
    return Array.from({ length: n }, () => this.next());
  }

  private generateDay(): void {
    const day = this.day++;
    const dayStart = this.options.startTimeMs + day * DAY;
    const fraudScale = this.options.fraudScale ?? 1;
    const out: LabelledTransaction[] = [];
    const r = this.random;
    const poissonCount = (mean: number): number => {
      if (mean <= 0) return 0;
      let k = 0;
      let p = Math.exp(-mean);
      let s = p;
      const u = r();
      while (u > s && k < 200) {
        k++;
        p *= mean / k;
        s += p;
      }
      return k;
    };
    /** How many scenarios of a kind start today: `perDay` per 5,000 customers, as in the handbook. */
    const startScenario = (perDay: number): number =>
      poissonCount((perDay * fraudScale * this.options.customers) / 5000);

    // Handbook scenario 2 and 3: compromised terminals (28 days), leaked credentials (14 days).
    for (let i = 0; i < poissonCount((2 * fraudScale * this.options.terminals) / 10_000); i++) {
      this.compromised.set(Math.floor(r() * this.options.terminals), day + 28);
    }
    for (let i = 0; i < startScenario(3); i++) this.leaked.set(Math.floor(r() * this.options.customers), day + 14);

    this.customers.forEach((customer, index) => {
      const count = poissonCount(customer.perDay);
      for (let k = 0; k < count; k++) {
        const seconds = Math.min(86_399, Math.max(0, 43_200 + this.normal() * 20_000));
        const time = dayStart + Math.floor(seconds * 1000);
        let amount = customer.meanAmount + this.normal() * customer.meanAmount * 0.5;
        if (amount < 0) amount = r() * customer.meanAmount * 2;
        const roll = r();
        if (roll < 0.78) {
          const terminalIndex = customer.terminals[Math.floor(r() * customer.terminals.length)]!;
          let fraud = false;
          const leakedUntil = this.leaked.get(index);
          if (leakedUntil !== undefined && leakedUntil > day && r() < 1 / 3) {
            amount *= 5;
            fraud = true;
          }
          const compromisedUntil = this.compromised.get(terminalIndex);
          if (compromisedUntil !== undefined && compromisedUntil > day) fraud = true;
          if (amount > 220) fraud = true;
          out.push(this.card(customer, this.terminalList[terminalIndex]!, time, amount, r() < 0.65, fraud));
        } else if (roll < 0.88) {
          const payee = customer.payees[Math.floor(r() * customer.payees.length)]!;
          out.push(
            this.transfer(
              customer,
              payee,
              time,
              amount * (2 + r() * 6),
              customer.devices[0]!,
              this.home(customer),
              false,
            ),
          );
        } else if (roll < 0.95) {
          out.push(
            this.tx(customer, {
              channel: r() < 0.5 ? 'WALLET' : 'P2P',
              kind: 'TRANSFER',
              time,
              amount,
              payee: customer.payees[0]!,
              device: customer.devices[0]!,
              fraud: false,
              at: this.home(customer),
            }),
          );
        } else {
          const deposit = r() < 0.4;
          out.push(
            this.tx(customer, {
              channel: 'CASH',
              kind: deposit ? 'DEPOSIT' : 'WITHDRAWAL',
              time,
              amount: deposit ? amount * (1 + r() * 30) : Math.ceil(amount / 10) * 10,
              payee: `ACC-${customer.id}`,
              fraud: false,
              at: this.home(customer),
            }),
          );
        }
      }
    });

    // Card testing: bursts of tiny card-not-present amounts, often followed by a larger purchase.
    for (let i = 0; i < startScenario(2); i++) {
      const customer = this.customers[Math.floor(r() * this.customers.length)]!;
      const start = dayStart + Math.floor(r() * (DAY - 3_600_000));
      const probes = 4 + Math.floor(r() * 10);
      for (let p = 0; p < probes; p++) {
        const terminal = this.terminalList[Math.floor(r() * this.terminalList.length)]!;
        out.push(
          this.card(
            customer,
            terminal,
            start + Math.floor(r() * 2_400_000),
            0.5 + r() * 4,
            false,
            true,
            `dev-x${Math.floor(r() * 1e6)}`,
          ),
        );
      }
      if (r() < 0.5)
        out.push(
          this.card(
            customer,
            this.terminalList[Math.floor(r() * this.terminalList.length)]!,
            start + 2_700_000,
            80 + r() * 300,
            false,
            true,
          ),
        );
    }
    // Account takeover: a new device far from home, then a large transfer to a new payee.
    for (let i = 0; i < startScenario(1.5); i++) {
      const customer = this.customers[Math.floor(r() * this.customers.length)]!;
      const time = dayStart + Math.floor(r() * DAY);
      const device = `dev-ato-${Math.floor(r() * 1e9)}`;
      const far = { lat: 35 + r() * 25, lon: -10 + r() * 40 };
      out.push(
        this.transfer(
          customer,
          `ACC-MULE-${Math.floor(r() * 50)}`,
          time,
          500 + r() * 4500 + customer.meanAmount * 20,
          device,
          far,
          true,
        ),
      );
      if (r() < 0.5)
        out.push(
          this.transfer(
            customer,
            `ACC-MULE-${Math.floor(r() * 50)}`,
            time + 600_000,
            500 + r() * 4500,
            device,
            far,
            true,
          ),
        );
    }
    // Structuring: a run of cash deposits just under 10,000 over a few days.
    for (let i = 0; i < startScenario(0.5); i++) {
      const customer = this.customers[Math.floor(r() * this.customers.length)]!;
      const runs = 3 + Math.floor(r() * 3);
      for (let d = 0; d < runs; d++) {
        const time = dayStart + Math.floor(((d + r() * 0.5) / (runs + 1)) * DAY);
        out.push(
          this.tx(customer, {
            channel: 'CASH',
            kind: 'DEPOSIT',
            time,
            amount: 8_500 + r() * 1_490,
            payee: `ACC-${customer.id}`,
            fraud: true,
            at: this.home(customer),
          }),
        );
      }
    }

    // A follow-up event may reach past midnight; clip it to the day so the stream stays in event-time order.
    for (const item of out)
      if (item.transaction.eventTimeMs >= dayStart + DAY)
        (item.transaction as { eventTimeMs: number }).eventTimeMs = dayStart + DAY - 1;
    out.sort((a, b) => a.transaction.eventTimeMs - b.transaction.eventTimeMs);
    this.buffer = out;
    this.cursor = 0;
  }

  private home(customer: Customer): { lat: number; lon: number } {
    return { lat: 50 + customer.y * 0.05, lon: -3 + customer.x * 0.07 };
  }

  private normal(): number {
    const u = Math.max(1e-12, this.random());
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.random());
  }

  private card(
    customer: Customer,
    terminal: Terminal,
    time: number,
    amount: number,
    present: boolean,
    fraud: boolean,
    device?: string,
  ): LabelledTransaction {
    return this.tx(customer, {
      channel: 'CARD',
      kind: 'PURCHASE',
      time,
      amount,
      payee: `ACC-${terminal.merchantId}`,
      terminal,
      present,
      device: present ? undefined : (device ?? customer.devices[0]!),
      fraud,
      at: { lat: 50 + terminal.y * 0.05, lon: -3 + terminal.x * 0.07 },
    });
  }

  private transfer(
    customer: Customer,
    payee: string,
    time: number,
    amount: number,
    device: string,
    at: { lat: number; lon: number },
    fraud: boolean,
  ): LabelledTransaction {
    return this.tx(customer, {
      channel: this.random() < 0.7 ? 'SEPA' : 'ACH',
      kind: 'TRANSFER',
      time,
      amount,
      payee,
      device,
      fraud,
      at,
    });
  }

  private tx(
    customer: Customer,
    o: {
      channel: Channel;
      kind: TransactionKind;
      time: number;
      amount: number;
      payee: string;
      terminal?: Terminal;
      present?: boolean;
      device?: string;
      fraud: boolean;
      at: { lat: number; lon: number };
    },
  ): LabelledTransaction {
    const id = `syn-${this.options.seed}-${this.serial++}`;
    const transaction: Transaction = {
      transactionId: id,
      fingerprint: id,
      channel: o.channel,
      kind: o.kind,
      amountMinor: BigInt(Math.max(1, Math.round(o.amount * 100))),
      currency: 'GBP',
      settlement: null,
      payerAccountId: `ACC-${customer.id}`,
      payeeAccountId: o.payee,
      customerId: customer.id,
      card:
        o.channel === 'CARD'
          ? { token: customer.cardToken, bin: customer.bin, last4: '4242', present: o.present ?? true }
          : null,
      merchantId: o.terminal?.merchantId ?? null,
      terminalId: o.terminal?.id ?? null,
      mcc: o.terminal?.mcc ?? null,
      deviceId: o.device ?? null,
      ipAddress: null,
      country: o.terminal?.country ?? customer.country,
      latitude: o.at.lat,
      longitude: o.at.lon,
      description: null,
      bankTransfer:
        o.channel === 'SEPA' || o.channel === 'ACH'
          ? { scheme: o.channel === 'SEPA' ? 'SEPA_CT' : 'ACH', endToEndId: null, remittanceInfo: null }
          : null,
      channelReference: null,
      originalTransactionId: null,
      source: 'SIMULATOR',
      submittedBy: null,
      sourceDocument: null,
      eventTimeMs: o.time,
      receivedAtMs: o.time,
    };
    return { transaction, fraud: o.fraud };
  }
}
