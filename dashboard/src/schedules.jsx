import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { time } from './format.js';

/** Every schedule, with its last and next tick, and a switch to disable or enable it. */
export function Schedules({ live }) {
  const [schedules, setSchedules] = useState(null);
  const [error, setError] = useState(null);
  const [notice, setNotice] = useState(null);
  const load = () => api('GET', '/schedules').then((r) => {
    setSchedules(r.schedules);
    setError(null);
  }, (e) => setError(e.message));
  useEffect(() => void load(), []);
  // Live: a tick enqueues a job, whose event moves the last and next tick (at most once a second).
  useEffect(() => {
    if (live.version === 0) return;
    const timer = setTimeout(load, 1000);
    return () => clearTimeout(timer);
  }, [live.version]);

  const toggle = async (s) => {
    const action = s.enabled ? 'disable' : 'enable';
    const question = s.enabled
      ? `Disable schedule ${s.name}? No tick fires until it is enabled again.`
      : `Enable schedule ${s.name}? Ticks from now on fire; those missed while it was disabled do not.`;
    if (!confirm(question)) return;
    try {
      await api('POST', `/schedules/${encodeURIComponent(s.name)}/${action}`);
      setNotice(`Schedule ${s.name} ${s.enabled ? 'disabled' : 'enabled'}.`);
      await load();
    } catch (e) {
      setNotice(e.message);
    }
  };

  if (error) return <p class="error" role="alert">{error}</p>;
  if (!schedules) return <p class="loading">Loading…</p>;
  return (
    <section aria-labelledby="schedules-title">
      <h1 id="schedules-title">Schedules</h1>
      {notice && <p role="status">{notice}</p>}
      <div class="table-wrap">
        <table>
          <thead><tr><th scope="col">Schedule</th><th scope="col">State</th><th scope="col">Cron</th><th scope="col">Time zone</th><th scope="col">Task</th><th scope="col">Queue</th><th scope="col">Last tick</th><th scope="col">Next tick</th></tr></thead>
          <tbody>
            {schedules.map((s) => (
              <tr key={s.name} data-schedule={s.name}>
                <th scope="row">{s.name}</th>
                <td class="state">
                  <span data-state={s.enabled ? 'enabled' : 'disabled'} class={s.enabled ? undefined : 'status paused'}>{s.enabled ? 'enabled' : 'disabled'}</span>{' '}
                  <button type="button" class="quiet" aria-label={`${s.enabled ? 'Disable' : 'Enable'} schedule ${s.name}`} onClick={() => toggle(s)}>
                    {s.enabled ? 'Disable' : 'Enable'}
                  </button>
                </td>
                <td><code>{s.cron}</code></td>
                <td>{s.timezone}</td>
                <td>{s.task}</td>
                <td><a href={`#/jobs?queue=${encodeURIComponent(s.queue)}`}>{s.queue}</a></td>
                <td>{s.lastJobId ? <a href={`#/job/${s.lastJobId}`}><time dateTime={s.lastTick}>{time(s.lastTick)}</time></a> : time(s.lastTick)}</td>
                <td><time dateTime={s.nextTick ?? undefined}>{time(s.nextTick)}</time></td>
              </tr>
            ))}
            {schedules.length === 0 && <tr><td colSpan={8}>No schedules. Add one with schedule_job(), supajobs schedules add, or a worker's schedules option.</td></tr>}
          </tbody>
        </table>
      </div>
    </section>
  );
}
