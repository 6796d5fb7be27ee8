/**
 * The app's side, as a signed-in end user with supabase-js: submit a coding job and follow one's
 * jobs live. Row-level security lets users insert jobs of the tasks in job_client_tasks and read
 * only their own; the database sets owner, queue, attempts and priority (from the user's plan).
 */
import type { SupabaseClient } from '@supabase/supabase-js';
import type { CodingRequest } from './coding-job.js';

export interface CodingJob {
  id: string;
  status: 'pending' | 'processing' | 'completed' | 'failed' | 'cancelled';
  priority: number;
  stage: string | null;
  progress: { percent: number; step?: string } | null;
  result: { repo: string; changed: string[] } | null;
  error_code: string | null;
  public_error: string | null;
}

// Named columns: the worker's own (locked_by, last_error…) are not the user's to read.
const COLUMNS = 'id,status,priority,stage,progress,result,error_code,public_error';

export async function submitCodingJob(supabase: SupabaseClient, request: CodingRequest): Promise<CodingJob> {
  const { data, error } = await supabase.from('jobs').insert({ task: 'coding-job', payload: request }).select(COLUMNS).single<CodingJob>();
  if (error) throw error;
  return data;
}

/** Calls onChange with every change to the user's jobs; resolves once Realtime listens. Returns the unsubscribe. */
export function watchMyJobs(supabase: SupabaseClient, onChange: (job: CodingJob) => void): Promise<() => Promise<void>> {
  return new Promise((resolve, reject) => {
    const channel = supabase
      .channel(`my-coding-jobs-${crypto.randomUUID()}`)
      .on<CodingJob>('postgres_changes', { event: 'UPDATE', schema: 'public', table: 'jobs' }, (change) => onChange(change.new as CodingJob))
      // Listening once the server confirms the PostgreSQL subscription, not merely the channel join.
      .on('system', {}, (message: { extension?: string; status?: string; message?: string }) => {
        if (message.extension !== 'postgres_changes') return;
        if (message.status === 'ok') resolve(async () => void (await supabase.removeChannel(channel)));
        else reject(new Error(message.message ?? 'subscription refused'));
      })
      .subscribe();
  });
}
