import type { Bus, BusRecord, OutgoingRecord, Producer, RecordBatch, RecordPosition } from '../../platform/bus.js';
import { UnavailableError } from '../../platform/errors.js';
import { sampleTransaction } from '../../schemas/fixtures.js';
import { Channel, type ScoredTransaction, type Transaction, TransactionKind } from '../../schemas/generated/types.js';
import { MemoryLedgerStore } from './memory-ledger-store.js';

/** Test support for ledger-sink: a bus whose producer only captures, batch builders and generated decisions. */

export interface CapturingBus extends Bus {
  /** Everything sent, per topic, in order. */
  readonly sent: Map<string, OutgoingRecord[]>;
}

/** A Bus whose producer records what it is given; every other method fails loudly (the tests do not use them). */
export function capturingBus(): CapturingBus {
  const sent = new Map<string, OutgoingRecord[]>();
  const producer: Producer = {
    send(topic: string, records: readonly OutgoingRecord[]): Promise<RecordPosition[]> {
      const log = sent.get(topic) ?? [];
      const positions = records.map((_, i) => ({ topic, partition: 0, offset: log.length + i }));
      log.push(...records);
      sent.set(topic, log);
      return Promise.resolve(positions);
    },
  };
  const unused = (name: string) => (): Promise<never> =>
    Promise.reject(new Error(`capturingBus.${name} is not implemented`));
  return {
    sent,
    producer: () => producer,
    ensureTopics: () => Promise.resolve(),
    partitionCount: unused('partitionCount'),
    subscribe: unused('subscribe'),
    read: unused('read'),
    endOffsets: unused('endOffsets'),
    committedOffsets: unused('committedOffsets'),
    close: () => Promise.resolve(),
  };
}

/** A batch as the bus would hand it over: one partition, consecutive offsets from `firstOffset`. */
export function batchOf(
  topic: string,
  values: readonly Buffer[],
  options: { partition?: number; firstOffset?: number; keys?: readonly string[] } = {},
): RecordBatch {
  const partition = options.partition ?? 0;
  const firstOffset = options.firstOffset ?? 0;
  const records: BusRecord[] = values.map((value, i) => ({
    topic,
    partition,
    offset: firstOffset + i,
    key: options.keys?.[i] ?? null,
    value,
    headers: {},
    timestampMs: 1_764_000_000_000 + i,
  }));
  return { topic, partition, records };
}

const CURRENCIES = ['EUR', 'USD', 'GBP', 'JPY'] as const;

/**
 * A deterministic scored transaction number `i`: every channel and kind in turn, one in five cross-currency,
 * one in seven declined. `overrides` apply to the transaction.
 */
export function scoredTransaction(
  i: number,
  overrides: Partial<Transaction> = {},
  scoring: Partial<ScoredTransaction> = {},
): ScoredTransaction {
  const channels = Object.values(Channel);
  const kinds = Object.values(TransactionKind);
  const currency = CURRENCIES[i % CURRENCIES.length]!;
  const settlementCurrency = CURRENCIES[(i + 1) % CURRENCIES.length]!;
  const transaction = sampleTransaction({
    transactionId: `tx-${String(i).padStart(6, '0')}`,
    fingerprint: `fp-${i}`.padEnd(64, '0'),
    channel: channels[i % channels.length]!,
    kind: kinds[Math.floor(i / channels.length) % kinds.length]!,
    amountMinor: BigInt(1 + ((i * 7919) % 1_000_000)),
    currency,
    settlement:
      i % 5 === 0 ? { amountMinor: BigInt(1 + ((i * 104_729) % 900_000)), currency: settlementCurrency } : null,
    payerAccountId: `acct-${i % 97}`,
    payeeAccountId: `merchant-${i % 13}`,
    eventTimeMs: 1_764_000_000_000 + i * 1000 + (i % 1000),
    receivedAtMs: 1_764_000_000_000 + i * 1000 + 50,
    ...overrides,
  });
  return {
    transaction,
    decision: i % 7 === 3 ? 'DECLINE' : i % 11 === 4 ? 'REVIEW' : 'APPROVE',
    score: (i % 100) / 100,
    risk: (i % 100) / 100,
    reasons: [
      { code: 'R_VELOCITY_1H', source: 'RULE', description: 'many transactions in the last hour', weight: 0.4 },
      {
        code: 'M_AMOUNT_VS_HISTORY',
        source: 'MODEL',
        description: 'amount far above the customer history',
        weight: 0.25,
      },
    ],
    rulesFired: ['R_VELOCITY_1H'],
    features: { amount_vs_avg_30d: 3.5, tx_count_1h: (i % 9) + 1, new_device: 0 },
    featureValues: null,
    reportingCurrency: 'EUR',
    unconvertedCurrency: null,
    modelVersion: 'autoencoder-2025.11',
    rulesVersion: 'rules-7',
    scoredAtMs: transaction.receivedAtMs + 12,
    ...scoring,
  };
}

/** The store port in memory, with a switch to make it unavailable. */
export class MemoryStore extends MemoryLedgerStore {
  down = false;
  protected run<T>(effect: () => T): Promise<T> {
    return this.down
      ? Promise.reject(new UnavailableError('LEDGER_STORE_UNAVAILABLE', 'store is down'))
      : Promise.resolve(effect());
  }
}
