import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { createClickHouseClient } from '../../platform/clickhouse.js';
import { ClickHouseTables } from '../../schemas/clickhouse.js';
import { ClickHouseRulesArchive } from './clickhouse-rules-archive.js';
import { loadRulesFile, rulesContentVersion } from './rules-file.js';

// chDB binds one data directory per process: one temp directory for this file, removed after it.
const dataDir = mkdtempSync(join(tmpdir(), 'vigil-rules-archive-'));
const rulesPath = new URL('../rules.json', import.meta.url);
let client: ClickHouseClient;

beforeAll(() => {
  client = createClickHouseClient(`embedded:${join(dataDir, 'chdb')}`);
});
afterAll(async () => {
  await client.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function archived(): Promise<Array<{ version: string; label: string; rules_json: string }>> {
  const rs = await client.query({
    query: `SELECT version, label, rules_json FROM ${ClickHouseTables.rulesVersions} ORDER BY version`,
    format: 'JSONEachRow',
  });
  return rs.json();
}

describe('rules versions: content hash and archive (chDB)', () => {
  it('given the rules file loaded twice and an edited copy, then each content version is archived once and re-hashes to itself', async () => {
    const original = await loadRulesFile(rulesPath.pathname);
    expect(original.rules.version).toMatch(/^[0-9a-f]{64}$/);
    expect(original.label).toBe('2024.11.1');

    // The same rules in another layout and key order: the same version.
    const document = JSON.parse(original.canonicalDocument) as { rules: Array<Record<string, unknown>> };
    const relaid = join(dataDir, 'relaid.json');
    writeFileSync(relaid, JSON.stringify(Object.fromEntries(Object.entries(document).reverse()), null, 4));
    expect((await loadRulesFile(relaid)).rules.version).toBe(original.rules.version);
    // One rule's risk changed, label untouched: another version (the label alone could not tell them apart).
    const edited = join(dataDir, 'edited.json');
    const firstAddRisk = document.rules.findIndex((r) => r['action'] === 'ADD_RISK');
    document.rules[firstAddRisk] = { ...document.rules[firstAddRisk], risk: 0.31 };
    writeFileSync(edited, JSON.stringify(document));
    const changed = await loadRulesFile(edited);
    expect(changed.label).toBe(original.label);
    expect(changed.rules.version).not.toBe(original.rules.version);

    const archive = new ClickHouseRulesArchive(client);
    for (const loaded of [original, original, changed])
      await archive.archive({
        version: loaded.rules.version,
        label: loaded.label,
        canonicalDocument: loaded.canonicalDocument,
        loadedAtMs: Date.UTC(2026, 0, 1),
      });
    const rows = await archived();
    expect(rows.map((r) => r.version)).toEqual([original.rules.version, changed.rules.version].sort());
    for (const row of rows) expect(rulesContentVersion(row.rules_json)).toBe(row.version);
    // Negative control: the check above would catch a stored text that is not the hashed one.
    expect(rulesContentVersion(rows[0]!.rules_json + ' ')).not.toBe(rows[0]!.version);
  }, 60_000);
});
