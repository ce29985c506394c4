import type { Bus, RecordBatch } from './bus.js';

/**
 * How far a subscription reading a topic from its start has got towards where the topic ended when it began. A
 * process that serves from a table the topic holds (API keys, rules, cases, the chart of accounts) waits until it has
 * caught up, so it never answers from a table that is still missing what was there before it started.
 */
export class CatchUp {
  /** Resolves once {@link isLoaded} first holds. */
  readonly loaded: Promise<void>;
  private readonly nextOffsets: number[];
  private caughtUp = false;
  private markLoaded: () => void = () => undefined;

  private constructor(private readonly loadTo: readonly number[]) {
    this.nextOffsets = loadTo.map(() => 0);
    this.loaded = new Promise<void>((resolve) => (this.markLoaded = resolve));
    this.check(); // an empty topic is caught up already
  }

  /** Catching up with where `topic` ends now. */
  static async of(bus: Pick<Bus, 'endOffsets'>, topic: string): Promise<CatchUp> {
    return new CatchUp(await bus.endOffsets(topic));
  }

  /**
   * Records that `batch` was handled: its partition is read up to its last record. For batches of one partition
   * only — never a subscription with `acrossPartitions`.
   */
  handled(batch: Pick<RecordBatch, 'partition' | 'records'>): void {
    const last = batch.records.at(-1);
    if (last !== undefined) this.nextOffsets[batch.partition] = last.offset + 1;
    this.check();
  }

  /** The offset after the last record handled on `partition` (0 before any). */
  nextOffset(partition: number): number {
    return this.nextOffsets[partition] ?? 0;
  }

  /** Whether every partition has been read up to where it ended at the start; once true, true for good. */
  readonly isLoaded = (): boolean =>
    (this.caughtUp ||= this.loadTo.every((end, partition) => this.nextOffset(partition) >= end));

  private check(): void {
    if (this.isLoaded()) this.markLoaded();
  }
}
