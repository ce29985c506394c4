/**
 * `node --import` this module (after tsx) to run a scoring service with `plantNoOpReserve` in force: the negative
 * control of distributed/funds.e2e.test.ts. Nothing in production loads it; the process's command line decides.
 */
import { plantNoOpReserve } from './planted-faults.js';

plantNoOpReserve();
