import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ClickHouseTables, ClickHouseViews } from '../../schemas/clickhouse.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const usersFile = join(repoRoot, 'infra', 'clickhouse', 'users.xml');

interface ResolvedUser {
  readonly authType: string;
  readonly grants: readonly string[];
  readonly profile: string;
  readonly settings: Readonly<Record<string, string>>;
}

/** The users a file resolves to in ClickHouse's access control (chDB, in a child process: see show-grants.ts). */
async function resolveUsers(file: string): Promise<Record<string, ResolvedUser>> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', join(repoRoot, 'infra', 'clickhouse', 'show-grants.ts'), file],
    {
      cwd: repoRoot,
      timeout: 90_000,
      env: {
        ...process.env,
        CLICKHOUSE_WRITER_PASSWORD: 'writer-test-password',
        CLICKHOUSE_READER_PASSWORD: 'reader-test-password',
        CLICKHOUSE_GRAFANA_PASSWORD: 'grafana-test-password',
      },
    },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, ResolvedUser>;
}

/** Objects a grant names in the vigil database that schemas/clickhouse/tables.sql does not create. */
function unknownObjects(grants: readonly string[]): string[] {
  const known = new Set<string>([...Object.values(ClickHouseTables), ...Object.values(ClickHouseViews)]);
  return grants.flatMap((grant) =>
    [...grant.matchAll(/ ON vigil\.(\w+)/g)].map((match) => match[1]!).filter((name) => !known.has(name)),
  );
}

/**
 * infra/clickhouse/users.xml, the least-privilege users a ClickHouse server gets in the compose deployment, loaded
 * into ClickHouse's own access control (chDB). What this proves: the file parses, every grant is one ClickHouse
 * accepts, each user resolves to exactly these privileges, and every table named exists in the schema. What it
 * cannot prove here: that a server refuses the other statements at run time. chDB runs every query as its
 * default user (it ignores --user), so no query can be run as these users without a ClickHouse server.
 */
describe('ClickHouse least-privilege users (infra/clickhouse/users.xml)', () => {
  it('resolve to exactly the documented grants, each user with a password', async () => {
    const users = await resolveUsers(usersFile);
    expect(Object.keys(users).sort()).toEqual(['vigil_grafana', 'vigil_reader', 'vigil_writer']);
    expect(users.vigil_writer).toEqual({
      authType: 'plaintext_password',
      grants: [
        'GRANT SELECT, INSERT, ALTER ADD COLUMN, ALTER ADD INDEX, CREATE TABLE, CREATE VIEW, DROP VIEW ON vigil.* TO vigil_writer',
      ],
      profile: 'default',
      settings: {},
    });
    expect(users.vigil_reader).toEqual({
      authType: 'plaintext_password',
      grants: ['GRANT SELECT ON vigil.* TO vigil_reader', 'GRANT INSERT ON vigil.access_log TO vigil_reader'],
      profile: 'default',
      settings: {},
    });
    expect(users.vigil_grafana).toEqual({
      authType: 'plaintext_password',
      grants: [
        'analyst_labels',
        'decisions',
        'ledger_conflicts',
        'ledger_entries',
        'ledger_hold_resolutions',
        'ledger_holds',
        'ledger_open_hold_legs',
      ].map((object) => `GRANT SELECT ON vigil.${object} TO vigil_grafana`),
      profile: 'vigil_grafana',
      settings: { max_execution_time: '60', readonly: '2' },
    });
    expect(Object.values(users).flatMap((user) => unknownObjects(user.grants))).toEqual([]);
    // Negative control: a grant on a table the schema does not have is found.
    expect(unknownObjects(['GRANT SELECT ON vigil.ledger_entrys TO vigil_grafana'])).toEqual(['ledger_entrys']);
  });

  it('negative control: a grant ClickHouse cannot parse fails the load', async () => {
    const broken = join(mkdtempSync(join(tmpdir(), 'vigil-users-')), 'users.xml');
    writeFileSync(
      broken,
      readFileSync(usersFile, 'utf8').replace('GRANT SELECT ON vigil.decisions', 'GRANT SELEKT ON vigil.decisions'),
    );
    await expect(resolveUsers(broken)).rejects.toThrow(/Command failed/);
  });
});
