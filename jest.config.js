// Test tiers are chosen by file suffix: *.test.ts never touches the network, *.int.test.ts runs against
// real services started by infra/ scripts, *.e2e.test.ts runs the stages together.
const transform = {
  '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'es6' } }],
};
// NodeNext imports are written './x.js'; map them back to the .ts source.
const moduleNameMapper = { '^(\\.{1,2}/.*)\\.js$': '$1' };
const common = { transform, moduleNameMapper, extensionsToTreatAsEsm: ['.ts'], testEnvironment: 'node' };

/** @type {import('jest').Config} */
export default {
  // The int and e2e tiers drive real clients (kafkajs, chDB, HTTP and WebSocket sockets, SMTP). Every test closes
  // what it opened, but a client's background retry left by one of them once kept a clean-clone CI run waiting
  // forever after all 211 int tests had passed; it did not come back under `--detectOpenHandles`, which is how to
  // look for it (`npm run test:int -- --detectOpenHandles`). Exit once every test has reported instead of hanging.
  forceExit: true,
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '\\.int\\.test\\.ts$', '\\.e2e\\.test\\.ts$'],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/**/*.int.test.ts'],
      testPathIgnorePatterns: ['/node_modules/'],
      setupFilesAfterEnv: ['<rootDir>/platform/testing/int-timeout.setup.ts'],
    },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/**/*.e2e.test.ts'],
      testPathIgnorePatterns: ['/node_modules/'],
      setupFilesAfterEnv: ['<rootDir>/platform/testing/e2e-timeout.setup.ts'],
    },
  ],
};
