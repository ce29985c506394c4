import { jest } from '@jest/globals';

// The integration tier drives real services (chDB, Kafka, Elasticsearch, HTTP servers): on a loaded 2-core machine
// one hook or test can take tens of seconds, so jest's 5 s default would make the outcome depend on machine speed.
// Set once here for every *.int.test.ts (a project's own `testTimeout` is not read by jest-circus 30); a file that
// needs longer still sets its own after its imports.
jest.setTimeout(120_000);
