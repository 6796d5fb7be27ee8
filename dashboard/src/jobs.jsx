import { useEffect, useState } from 'preact/hooks';
import { api, query } from './api.js';
import { shortId, time } from './format.js';

const STATUSES = ['', 'pending', 'waiting', 'processing', 'completed', 'failed', 'cancelled'];

export function JobList({ filter, live }) {
  const [jobs, setJobs] = useState(null);
  const [next, setNext] = useState(null);
  const [error, setError] = useState(null);
  const [notice, setNotice] = useState(null);
  const key = JSON.stringify(filter);
  const load = () =>
    api('GET', `/jobs${query({ ...filter, limit: 50 })}`).then((page) => {
      setJobs(page.jobs);
      setNext(page.nextCursor);
      setError(null);
    }, (e) => setError(e.message));
  useEffect(() => void load(), [key]);
  // Live: refresh the first page when jobs change (at most once a second).
  useEffect(() => {
    if (live.version === 0) return;
    const timer = setTimeout(load, 1000);
    return () => clearTimeout(timer);
  }, [live.version]);

  const more = async () => {
    const page = await api('GET', `/jobs${query({ ...filter, limit: 50, after: next })}`);
    setJobs([...jobs, ...page.jobs]);
    setNext(page.nextCursor);
  };
  const apply = (event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    location.hash = `#/jobs${query(Object.fromEntries(form))}`;
  };
  const bulk = async (action) => {
    const status = action === 'retry' ? (filter.status === 'cancelled' ? 'cancelled' : 'failed') : (filter.status === 'processing' ? 'processing' : 'pending');
    const { status: _ignored, ...rest } = filter;
    if (!confirm(`${action === 'retry' ? 'Retry' : 'Cancel'} every ${status} job matching this filter?`)) return;
    try {
      const { count } = await api('POST', `/jobs/${action}`, { ...rest, status });
      setNotice(`${count} ${status} jobs ${action === 'retry' ? 'queued again' : 'cancelled'}.`);
      load();
    } catch (e) {
      setNotice(e.message);
    }
  };

  return (
    <section aria-labelledby="jobs-title">
      <h1 id="jobs-title">Jobs</h1>
      <form class="filters" onSubmit={apply}>
        <label>Status <select name="status" value={filter.status ?? ''}>{STATUSES.map((s) => <option value={s}>{s || 'any'}</option>)}</select></label>
        <label>Queue <input name="queue" value={filter.queue ?? ''} /></label>
        <label>Task <input name="task" value={filter.task ?? ''} /></label>
        <label>Group <input name="group" value={filter.group ?? ''} /></label>
        <button type="submit">Filter</button>
      </form>
      <div class="bulk">
        <button type="button" onClick={() => bulk('retry')}>Retry all matching</button>
        <button type="button" onClick={() => bulk('cancel')}>Cancel all matching</button>
        {notice && <span role="status">{notice}</span>}
      </div>
      {error && <p class="error" role="alert">{error}</p>}
      {!jobs ? <p class="loading">Loading…</p> : (
        <div class="table-wrap">
          <table>
            <thead><tr><th scope="col">Job</th><th scope="col">Task</th><th scope="col">Queue</th><th scope="col">Group</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Created</th><th scope="col">Error</th></tr></thead>
            <tbody>
              {jobs.map((job) => (
                <tr key={job.id} data-job={job.id}>
                  <th scope="row"><a href={`#/job/${job.id}`} title={job.id}>{shortId(job.id)}</a></th>
                  <td>{job.task}</td>
                  <td>{job.queue}</td>
                  <td>{job.groupKey ?? ''}</td>
                  <td><span class={`status ${job.status}`}>{job.status}</span></td>
                  <td>{job.attempts}/{job.maxAttempts}</td>
                  <td><time dateTime={job.createdAt}>{time(job.createdAt)}</time></td>
                  <td class="error-text">{job.status === 'failed' && job.errorCode ? `${job.errorCode}: ${job.lastError ?? ''}` : ''}</td>
                </tr>
              ))}
              {jobs.length === 0 && <tr><td colSpan={8}>No job matches.</td></tr>}
            </tbody>
          </table>
        </div>
      )}
      {next && <button type="button" onClick={more}>Load more</button>}
    </section>
  );
}
