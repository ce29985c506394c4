import { spawn } from 'node:child_process';
import { readFile, truncate } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EmbeddedLog } from './embedded-log.js';
import { frameSizeAt } from './frame.js';
import {
  crashTopic,
  findLostAcknowledgements,
  makeTempDir,
  parseAcknowledgements,
  removeTempDir,
  waitFor,
  type Acknowledgement,
} from './test-helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..');

/** Runs crash-writer.ts in a child process until it has acknowledged `minAcks` records, then SIGKILLs it. */
async function killWriterMidStream(
  dir: string,
  minAcks: number,
): Promise<{ acks: Acknowledgement[]; signal: NodeJS.Signals | null }> {
  const { NODE_OPTIONS: _jestNodeOptions, ...env } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'crash-writer.ts'), dir, '8'], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  let exitedEarly = false;
  void exited.then(() => (exitedEarly = true));
  await waitFor(
    () => {
      if (exitedEarly) throw new Error(`crash writer exited early: ${stderr}`);
      return (stdout.match(/\n/g)?.length ?? 0) >= minAcks;
    },
    `${minAcks} acknowledgements from the writer`,
    30_000,
  );
  child.kill('SIGKILL');
  const signal = await exited;
  // Only lines that were complete when the process died count as acknowledged.
  return { acks: parseAcknowledgements(stdout.slice(0, stdout.lastIndexOf('\n') + 1)), signal };
}

describe('EmbeddedLog under kill -9', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await makeTempDir();
  });

  afterEach(async () => {
    await removeTempDir(dir);
  });

  it('keeps every acknowledged record intact, and the check catches a planted loss', async () => {
    const { acks, signal } = await killWriterMidStream(dir, 3000);
    expect(signal).toBe('SIGKILL');
    expect(acks.length).toBeGreaterThanOrEqual(3000);

    const log = await EmbeddedLog.open({ dir });
    try {
      expect(await findLostAcknowledgements(log, acks)).toEqual([]);
      const ends = await log.endOffsets(crashTopic);
      expect(ends.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(acks.length);
      // The log still takes appends after the crash, at the recovered end.
      const [position] = await log.producer().send(crashTopic, [{ key: null, value: Buffer.from('after the crash') }]);
      expect(position!.offset).toBe(ends[position!.partition]);
    } finally {
      await log.close();
    }

    // Planted faults: the same check must report them.
    const victim = acks.filter((a) => a.partition === 0).reduce((a, b) => (b.offset > a.offset ? b : a));
    const segmentPath = join(dir, 'data', `${crashTopic}-0`, '00000000000000000000.log');
    const segment = await readFile(segmentPath);
    let position = 0;
    for (let offset = 0; offset < victim.offset; offset++) position += frameSizeAt(segment, position);
    await truncate(segmentPath, position + 10); // tears the victim's frame: recovery must drop it

    const damaged = await EmbeddedLog.open({ dir });
    try {
      expect(await damaged.endOffsets(crashTopic)).toEqual(expect.arrayContaining([victim.offset]));
      expect(await findLostAcknowledgements(damaged, acks)).toEqual([
        `id ${victim.id}: offset ${victim.offset} of partition 0 is missing (end offset ${victim.offset})`,
      ]);
      const forged = { ...acks[0]!, id: acks[0]!.id + 1 };
      expect(await findLostAcknowledgements(damaged, [forged])).toEqual([
        `id ${forged.id}: record at ${forged.partition}/${forged.offset} differs from what was acknowledged`,
      ]);
    } finally {
      await damaged.close();
    }
  }, 60_000);
});
