import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import type { Dialect } from '../../src/store/db.js';
import { createTestApp, type TestApp } from './app.js';
import { startEngine, type Engine } from './engine.js';

export interface CompanyPerTest {
  t: TestApp;
  engine: Engine;
  companyId: string;
  connectionId: string;
}

/**
 * The fixture the API tests of one company share, registered as hooks of the calling describe block: one test app
 * (createTestApp) for the block, and for each test a running engine and a new company with a connection to the test
 * platform (`mqjo`, TestConnector). After each test the engine stops and no pull is left in progress for the next
 * test's workers. The fields are set by the hooks: read them in tests and hooks, not when the block is declared.
 */
export function companyPerTest(dialect: Dialect, name: string): CompanyPerTest {
  const f = {} as CompanyPerTest;
  beforeAll(async () => {
    f.t = await createTestApp(dialect);
  });
  afterAll(async () => f.t.close());
  beforeEach(async () => {
    f.engine = startEngine(f.t);
    f.companyId = (await f.t.call('POST', '/companies', { name })).json().id;
    f.connectionId = (await f.t.call('POST', `/companies/${f.companyId}/connections`, { platformKey: 'mqjo' })).json().id;
  });
  afterEach(async () => {
    await f.engine.stop();
    await f.t.store.db
      .updateTable('datasets')
      .set({ status: 'Cancelled', completed: f.t.clock.now().toISOString(), lease_owner: null, run_slot: null })
      .where('status', 'in', ['Queued', 'Fetching', 'Processing'])
      .execute();
  });
  return f;
}
