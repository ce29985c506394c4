/**
 * `node --import` this module (after tsx) to run a service whose KafkaBus ignores the topics' max.message.bytes:
 * every send goes out as one produce request, as before produce requests were sized by bytes.
 */
import { KafkaBus } from '../../platform/kafka/kafka-bus.js';

Object.defineProperty(KafkaBus.prototype, 'batchByteLimit', { value: () => Promise.resolve(1_000_000_000) });
