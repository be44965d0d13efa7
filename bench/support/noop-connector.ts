import type { Connector, PullOutcome, PullRequest, SourceRecord } from '../../src/connectors/connector.js';
import { V1_READ_TYPES, type DataType } from '../../src/domain/data-types.js';

/** A connector that reads nothing: isolates the queue's own cost. */
export class NoopConnector implements Connector {
  readonly tokenLifetimes = { accessTokenSeconds: 1800, refreshTokenIdleDays: 60, refreshKeepsAlive: true };
  readonly maxConcurrentPullsPerConnection = 1;
  constructor(readonly key = 'mqjo') {}
  supports(t: DataType): boolean {
    return (V1_READ_TYPES as readonly string[]).includes(t);
  }
  // eslint-disable-next-line require-yield
  async *pull(_req: PullRequest): AsyncGenerator<SourceRecord[], PullOutcome, void> {
    return { cursor: undefined, fullListing: false, calls: 0 };
  }
}
