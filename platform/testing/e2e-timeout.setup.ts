import { jest } from '@jest/globals';

// The e2e tier starts whole pipelines (child processes, brokers, Chromium) and waits on conditions, never on
// elapsed time: a generous default keeps the outcome independent of machine speed. Set once here for every
// *.e2e.test.ts (a project's own `testTimeout` is not read by jest-circus 30); a file that needs longer still sets
// its own after its imports.
jest.setTimeout(300_000);
