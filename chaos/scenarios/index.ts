import { backendKill } from './backend-kill.js';
import { crash } from './crash.js';
import { listenerCut } from './listener-cut.js';
import { pgRestart } from './pg-restart.js';
import { poolCut } from './pool-cut.js';
import { poolExhaustion } from './pool-exhaustion.js';
import { retryStorm } from './retry-storm.js';
import { sigterm } from './sigterm.js';
import { supabase } from './supabase.js';
import type { Scenario } from './types.js';
import { workflow } from './workflow.js';

/** Every scenario, in the order `--scenario all` runs them. */
export const SCENARIOS: Scenario[] = [crash, pgRestart, backendKill, listenerCut, poolCut, poolExhaustion, retryStorm, sigterm, supabase, workflow];
