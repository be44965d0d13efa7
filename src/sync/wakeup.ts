import type { Logger } from '../lib/logger.js';
import { Wakeup as ChannelWakeup } from '../lib/wakeup.js';
import { DATASETS_CHANNEL } from '../store/enqueue.js';

/**
 * Wakes idle workers when datasets are queued: in-process through `notify()`, and across processes on PostgreSQL
 * through LISTEN/NOTIFY on the datasets channel.
 */
export class Wakeup extends ChannelWakeup {
  constructor(log: Logger, databaseUrl?: string) {
    super(log, databaseUrl, DATASETS_CHANNEL);
  }
}
