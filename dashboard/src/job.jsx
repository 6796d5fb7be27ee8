import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { EventRow } from './activity.jsx';
import { json, time } from './format.js';

export function JobDetail({ id, live }) {
  const [detail, setDetail] = useState(null);
  const [error, setError] = useState(null);
  const load = () => api('GET', `/jobs/${id}`).then(setDetail, (e) => setError(e.message));
  useEffect(() => void load(), [id]);
  // Live: this job changed.
  useEffect(() => {
    if (live.last?.jobId === id) load();
  }, [live.version]);

  const act = async (action) => {
    if (!confirm(`${action === 'retry' ? 'Retry' : 'Cancel'} job ${id}?`)) return;
    try {
      await api('POST', `/jobs/${id}/${action}`);
      await load();
    } catch (e) {
      setError(e.message);
    }
  };
  if (error) return <p class="error" role="alert">{error}</p>;
  if (!detail) return <p class="loading">Loading…</p>;
  const { job, events } = detail;
  const rows = [
    ['Id', job.id], ['Task', job.task], ['Queue', job.queue], ['Group', job.groupKey ?? '–'], ['Priority', job.priority],
    ['Attempts', `${job.attempts} of ${job.maxAttempts}`], ['Stage', job.stage ?? '–'], ['Worker', job.lockedBy ?? '–'],
    ['Created', time(job.createdAt)], ['Run at', time(job.runAt)], ['Started', time(job.startedAt)],
    ['Completed', time(job.completedAt)], ['Failed', time(job.failedAt)],
  ];
  return (
    <section aria-labelledby="job-title">
      <h1 id="job-title">Job <span class={`status ${job.status}`} data-status={job.status}>{job.status}</span></h1>
      <div class="actions">
        {(job.status === 'failed' || job.status === 'cancelled') && <button type="button" onClick={() => act('retry')}>Retry</button>}
        {(job.status === 'pending' || job.status === 'processing') && <button type="button" onClick={() => act('cancel')}>Cancel</button>}
      </div>
      <dl class="facts">{rows.map(([k, v]) => <><dt>{k}</dt><dd>{String(v)}</dd></>)}</dl>
      {job.errorCode && <p class="error-text" data-error>{job.status === 'failed' ? 'Error' : 'Last error'}: {job.errorCode}: {job.lastError}</p>}
      <h2>Payload</h2><pre data-payload>{json(job.payload)}</pre>
      {job.progress != null && <><h2>Progress</h2><pre>{json(job.progress)}</pre></>}
      {job.result != null && <><h2>Result</h2><pre>{json(job.result)}</pre></>}
      <h2>History</h2>
      <ol class="timeline">{events.map((e) => <EventRow key={e.id} event={e} />)}</ol>
    </section>
  );
}
