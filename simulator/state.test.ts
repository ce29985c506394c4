import { TrafficSimulator } from './generator.js';
import type { SimulatorState } from './state.js';

/** A state as it comes back from a file: through JSON, so nothing but plain data survives. */
const throughJson = (state: SimulatorState): SimulatorState => JSON.parse(JSON.stringify(state)) as SimulatorState;

describe('TrafficSimulator.save / restore', () => {
  it.each([
    ['before the first transaction', 0],
    ['mid-bucket on day 0', 1_234],
    ['days in, with fraud scheduled', 61_000],
  ])(
    'continues the stream exactly when saved %s',
    (_name, skip) => {
      const options = { seed: 11, customers: 1_500, terminals: 3_000, fraudScale: 4 };
      const uninterrupted = new TrafficSimulator(options);
      const interrupted = new TrafficSimulator(options);
      for (let i = 0; i < skip; i++) {
        uninterrupted.nextEvent();
        interrupted.nextEvent();
      }
      const resumed = TrafficSimulator.restore(throughJson(interrupted.save()));
      expect(resumed.count).toBe(skip);
      // 20,000 requests cover several buckets and days, so every part of the state is exercised.
      for (let i = 0; i < 20_000; i++) expect(resumed.next()).toEqual(uninterrupted.next());
    },
    60_000,
  );

  it('refuses a state of another format', () => {
    const state = { ...new TrafficSimulator({ customers: 10, terminals: 10 }).save(), format: 2 };
    expect(() => TrafficSimulator.restore(state as unknown as SimulatorState)).toThrow(/format 2/);
  });
});
