import { VigilError } from '../../platform/errors.js';
import type { AccessLog, AccessRecord } from '../ports.js';

/** An in-memory AccessLog for tests: keeps what it is given, or refuses everything once `failing` is set. */
export class RecordingAccessLog implements AccessLog {
  readonly records: AccessRecord[] = [];
  failing = false;

  record(access: AccessRecord): Promise<void> {
    if (this.failing)
      return Promise.reject(new VigilError('ACCESS_LOG_UNAVAILABLE', 'access log refused (test)', { retriable: true }));
    this.records.push(access);
    return Promise.resolve();
  }
}
