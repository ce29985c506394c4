import { Writable } from 'node:stream';
import { startProgress } from './progress.js';

/** A stream that records what is written, claiming to be a terminal or not. */
function fakeStream(isTTY: boolean): { stream: NodeJS.WriteStream; written: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString('utf8');
      done();
    },
  }) as unknown as NodeJS.WriteStream & { isTTY: boolean; columns: number };
  stream.isTTY = isTTY;
  stream.columns = 120;
  // cli-progress moves the cursor through readline's helpers, which need these on a terminal stream.
  stream.cursorTo = ((_x: number, callback?: () => void) => (callback?.(), true)) as NodeJS.WriteStream['cursorTo'];
  stream.clearLine = (_dir: number, callback?: () => void) => (callback?.(), true);
  stream.moveCursor = (_dx: number, _dy: number, callback?: () => void) => (callback?.(), true);
  return { stream, written: () => text };
}

describe('startProgress', () => {
  it('writes nothing when the stream is not a terminal (piped output stays results only)', () => {
    const { stream, written } = fakeStream(false);
    const progress = startProgress('replay', 100, { stream, unit: 'tx' });
    progress.update(50);
    progress.stop();
    expect(written()).toBe('');
  });

  it('negative control: on a terminal it draws the label, the counts and the unit', () => {
    const { stream, written } = fakeStream(true);
    const progress = startProgress('replay', 100, { stream, unit: 'tx' });
    progress.update(100);
    progress.stop();
    expect(written()).toContain('replay [');
    expect(written()).toContain('100/100 tx');
    expect(written()).toContain('tx/s | ETA');
  });
});
