/**
 * `node --import tsx infra/clickhouse/show-grants.ts <users.xml>`: loads a users file into chDB's access control the
 * way a ClickHouse server loads users.d/ (merged over a users.xml whose default user may manage access) and prints,
 * as JSON, each user's resolved grants, authentication type and profile settings. A grant ClickHouse cannot parse
 * makes it exit non-zero with ClickHouse's message. Run in its own process by users.int.test.ts: the access
 * configuration is chDB's process-wide server configuration, which must not leak into other tests.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session } from 'chdb';

const [usersFile] = process.argv.slice(2);
if (usersFile === undefined) {
  console.error('usage: show-grants.ts <users.xml>');
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), 'vigil-clickhouse-users-'));
try {
  mkdirSync(join(dir, 'users.d'));
  copyFileSync(usersFile, join(dir, 'users.d', 'vigil.xml'));
  writeFileSync(
    join(dir, 'users.xml'),
    '<clickhouse><users><default><access_management>1</access_management><password></password>' +
      '<profile>default</profile><quota>default</quota></default></users>' +
      '<profiles><default/></profiles><quotas><default/></quotas></clickhouse>\n',
  );
  writeFileSync(
    join(dir, 'config.xml'),
    `<clickhouse><user_directories><users_xml><path>${join(dir, 'users.xml')}</path></users_xml></user_directories></clickhouse>\n`,
  );
  const session = new Session(join(dir, 'data'), { connectionArgs: [`--config-file=${join(dir, 'config.xml')}`] });
  const rows = (sql: string): string[][] =>
    session
      .query(sql, 'TSV')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => line.split('\t'));
  const users = rows("SELECT name, auth_type[1] FROM system.users WHERE name != 'default' ORDER BY name");
  const result = Object.fromEntries(
    users.map(([name = '', authType = '']) => {
      const [[profile = ''] = []] = rows(
        `SELECT inherit_profile FROM system.settings_profile_elements WHERE user_name = '${name}'`,
      );
      const settings = rows(
        `SELECT setting_name, value FROM system.settings_profile_elements
         WHERE profile_name = '${profile}' AND setting_name != '' ORDER BY setting_name`,
      );
      const grants = rows(`SHOW GRANTS FOR ${name}`).map(([grant = '']) => grant);
      return [
        name,
        {
          authType,
          grants,
          profile,
          settings: Object.fromEntries(settings.map(([key = '', value = '']) => [key, value] as const)),
        },
      ];
    }),
  );
  console.log(JSON.stringify(result));
  session.cleanup();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
