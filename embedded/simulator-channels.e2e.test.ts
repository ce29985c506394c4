import { jest } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedLog } from '../platform/embedded-log/embedded-log.js';
import { readAll } from '../platform/embedded-log/test-helpers.js';
import { silentLogger } from '../platform/logger.js';
import { createCodec } from '../schemas/codec.js';
import type { Transaction } from '../schemas/generated/types.js';
import { EmbeddedSchemaRegistry } from '../schemas/registry.js';
import { Topics } from '../schemas/topics.js';
import { type ChannelCounts, SIMULATED_CHANNELS, type SimulatedChannel } from '../simulator/channel-feed.js';
import { startEmbeddedPipeline } from './pipeline.js';
import { waitFor } from './testing.js';

/**
 * `npm start`'s simulator speaks every channel: the embedded default with its own simulator (seeded, half of what
 * the channels can carry dealt to them) sends pain.001 files, NACHA files, CSV uploads and Stripe and Adyen
 * webhooks — signed with the demo secrets the pipeline made for itself — over the real routes. Once each channel has
 * taken some, the pipeline stops and tx.raw is read: every transaction a channel took is on the log under that
 * channel's source format, exactly as many as the simulator counted, none refused, and the rest came as JSON.
 * Negative control: the same world with NACHA and Adyen turned off has exactly none of either on the log.
 */
jest.setTimeout(600_000);

const keys = {
  ingest: 'e2e-ingest-key-0123456789',
  analyst: 'e2e-analyst-key-0123456789',
  admin: 'e2e-admin-key-0123456789',
};

/** The source format each channel's transactions carry (the channel parsers' own constants). */
const formatOf: Readonly<Record<SimulatedChannel, string>> = {
  iso20022: 'pain.001.001.09',
  nacha: 'nacha',
  csv: 'csv',
  stripe: 'stripe',
  adyen: 'adyen',
};

interface Run {
  readonly counts: ChannelCounts;
  /** Transactions on tx.raw by source format ('json' for none). */
  readonly onLog: Readonly<Record<string, number>>;
}

async function runSimulator(channels: readonly SimulatedChannel[]): Promise<Run> {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-sim-channels-'));
  try {
    const pipeline = await startEmbeddedPipeline({
      env: {
        VIGIL_DATA_DIR: dataDir,
        VIGIL_HTTP_PORT: '0',
        VIGIL_SIMULATOR_TPS: '100',
        VIGIL_SIMULATOR_SEED: '13',
        VIGIL_SIMULATOR_CHANNEL_SHARE: '0.5',
        // No balance policies: setting up a world's policy holders comes before any traffic (tens of seconds on a
        // loaded machine) and the channels do not depend on them (embedded/simulated-policies.e2e.test.ts does).
        VIGIL_SIMULATOR_POLICY_SHARE: '0',
        VIGIL_SIMULATOR_CHANNELS: channels.join(','),
        VIGIL_API_KEYS: Object.entries(keys)
          .map(([role, key]) => `${role}:${key}`)
          .join(','),
      },
      logger: silentLogger,
    });
    let counts: ChannelCounts;
    try {
      // Enough traffic that every channel on has taken a few: the dealing is by turns, so they fill together.
      await waitFor(
        'every channel on to take five transactions',
        () => (channels.every((c) => pipeline.simulatorChannelCounts()![c].taken >= 5) ? true : undefined),
        300_000,
      );
    } finally {
      await pipeline.close();
      counts = pipeline.simulatorChannelCounts()!;
    }
    const log = await EmbeddedLog.open({ dir: join(dataDir, 'log'), logger: silentLogger });
    const onLog: Record<string, number> = {};
    try {
      const codec = await createCodec<Transaction>(new EmbeddedSchemaRegistry(), Topics.transactionsRaw);
      for (let partition = 0; partition < (await log.partitionCount(Topics.transactionsRaw)); partition++)
        for (const record of await readAll(log, Topics.transactionsRaw, partition)) {
          const format = (await codec.decode(record.value)).sourceDocument?.format ?? 'json';
          onLog[format] = (onLog[format] ?? 0) + 1;
        }
    } finally {
      await log.close();
    }
    return { counts, onLog };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

describe('the embedded simulator through every channel', () => {
  it('sends pain.001, NACHA, CSV, Stripe and Adyen traffic that arrives under each format, exactly as counted', async () => {
    const { counts, onLog } = await runSimulator(SIMULATED_CHANNELS);
    for (const channel of SIMULATED_CHANNELS) {
      expect([channel, counts[channel].refused]).toEqual([channel, 0]);
      expect([channel, onLog[formatOf[channel]] ?? 0]).toEqual([channel, counts[channel].taken]);
      expect(counts[channel].taken).toBeGreaterThanOrEqual(5);
    }
    expect(onLog['json']).toBeGreaterThan(0);
    // Nothing else on the log: JSON plus the five formats.
    expect(Object.keys(onLog).sort()).toEqual(['json', ...SIMULATED_CHANNELS.map((c) => formatOf[c])].sort());
  });

  it('sends nothing through a channel turned off (negative control)', async () => {
    const on: SimulatedChannel[] = ['iso20022', 'csv', 'stripe'];
    const { counts, onLog } = await runSimulator(on);
    expect([counts.nacha.taken, counts.adyen.taken]).toEqual([0, 0]);
    expect([onLog['nacha'] ?? 0, onLog['adyen'] ?? 0]).toEqual([0, 0]);
    for (const channel of on)
      expect([channel, onLog[formatOf[channel]] ?? 0]).toEqual([channel, counts[channel].taken]);
  });
});
