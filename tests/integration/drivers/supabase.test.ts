import { SupabaseDriver } from '../../../src/drivers/supabase/driver.js';
import { captureLogs } from '../../support/logs.js';
import { startSupabaseStandIn } from '../../support/supabase-standin/index.js';
import { driverConformance } from './conformance.js';

driverConformance('supabase (through the stand-in)', async (db) => {
  const standIn = await startSupabaseStandIn({ databaseUrl: db.url });
  return {
    driver: new SupabaseDriver({
      url: standIn.url,
      serviceRoleKey: standIn.serviceRoleKey,
      logger: captureLogs().logger,
    }),
    teardown: () => standIn.stop(),
  };
});
