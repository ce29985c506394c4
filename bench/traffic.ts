import type { TransactionRequest } from '../schemas/api.js';
import { TrafficSimulator } from '../simulator/generator.js';

/** The benchmark's seeded stream: which transactions every phase, the ceiling and the load generator replay. */
export interface TrafficSlice {
  readonly seed: number;
  /** Event time of the stream's first transaction (epoch ms). */
  readonly streamStartMs: number;
  /** Transactions of the stream to skip first (a later phase continues where an earlier one ended). */
  readonly skip: number;
  readonly count: number;
}

/**
 * `count` requests of the stream after `skip`. A large population keeps per-customer activity realistic at
 * benchmark volume; every phase replays the same customers, cards and devices, from far enough back that events
 * are never in the future.
 */
export function benchRequests(slice: TrafficSlice): TransactionRequest[] {
  const simulator = new TrafficSimulator({
    seed: slice.seed,
    startTimeMs: slice.streamStartMs,
    customers: 50_000,
    terminals: 20_000,
    meanTxPerCustomerPerDay: 4,
  });
  for (let i = 0; i < slice.skip; i++) simulator.nextEvent();
  return simulator.take(slice.count).map((s) => s.request);
}
