import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { api } from './api.js';
import { age, percent } from './format.js';

/** Completions per minute over the last hour, all queues summed (uPlot on a canvas). */
function Throughput({ queues }) {
  const box = useRef(null);
  const chart = useRef(null);
  useEffect(() => {
    const now = Math.floor(Date.now() / 60_000) * 60;
    const xs = Array.from({ length: 60 }, (_, i) => now - (59 - i) * 60);
    const ys = xs.map((_, i) => queues.reduce((sum, q) => sum + (q.completionsPerMinute[i] ?? 0), 0));
    const width = Math.max(280, box.current.clientWidth);
    if (!chart.current) {
      chart.current = new uPlot(
        { width, height: 180, series: [{}, { label: 'completed / min', stroke: '#2563eb', fill: 'rgba(37,99,235,0.12)' }], axes: [{ space: 80 }, { size: 50 }] },
        [xs, ys],
        box.current,
      );
    } else {
      chart.current.setData([xs, ys]);
    }
  }, [queues]);
  useEffect(() => () => chart.current?.destroy(), []);
  return <figure class="chart"><div ref={box} /><figcaption>Completions per minute, last hour, all queues</figcaption></figure>;
}

/** "4 running · 10/s", or "none". */
const limits = (q) =>
  [q.maxRunning != null && `${q.maxRunning} running`, q.maxPerSecond != null && `${q.maxPerSecond}/s`].filter(Boolean).join(' · ') || 'none';

export function Queues({ live }) {
  const [queues, setQueues] = useState(null);
  const [error, setError] = useState(null);
  const [notice, setNotice] = useState(null);
  const load = () => api('GET', '/queues').then((r) => setQueues(r.queues), (e) => setError(e.message));
  useEffect(() => void load(), []);
  useEffect(() => {
    if (live.queues) setQueues(live.queues);
  }, [live.queues]);

  const toggle = async (q) => {
    const action = q.paused ? 'resume' : 'pause';
    const question = q.paused
      ? `Resume queue ${q.queue}? Workers claim its jobs again at once.`
      : `Pause queue ${q.queue}? No worker claims its jobs until it is resumed; running jobs finish.`;
    if (!confirm(question)) return;
    try {
      await api('POST', `/queues/${encodeURIComponent(q.queue)}/${action}`);
      setNotice(`Queue ${q.queue} ${q.paused ? 'resumed' : 'paused'}.`);
      await load();
    } catch (e) {
      setNotice(e.message);
    }
  };

  if (error) return <p class="error" role="alert">{error}</p>;
  if (!queues) return <p class="loading">Loading…</p>;
  return (
    <section aria-labelledby="queues-title">
      <h1 id="queues-title">Queues</h1>
      {notice && <p role="status">{notice}</p>}
      <div class="table-wrap">
        <table>
          <thead><tr><th scope="col">Queue</th><th scope="col">State</th><th scope="col">Limits</th><th scope="col">Ready</th><th scope="col">Scheduled</th><th scope="col">Waiting</th><th scope="col">Running</th><th scope="col">Failed</th><th scope="col">Oldest ready</th><th scope="col">Done, last hour</th><th scope="col">Success</th></tr></thead>
          <tbody>
            {queues.map((q) => (
              <tr key={q.queue} data-queue={q.queue}>
                <th scope="row"><a href={`#/jobs?queue=${encodeURIComponent(q.queue)}`}>{q.queue}</a></th>
                <td class="state">
                  <span data-state={q.paused ? 'paused' : 'running'} class={q.paused ? 'status paused' : undefined}>{q.paused ? 'paused' : 'running'}</span>{' '}
                  <button type="button" class="quiet" aria-label={`${q.paused ? 'Resume' : 'Pause'} queue ${q.queue}`} onClick={() => toggle(q)}>
                    {q.paused ? 'Resume' : 'Pause'}
                  </button>
                </td>
                <td data-limits>{limits(q)}</td>
                <td data-count="pending">{q.pending}</td>
                <td data-count="scheduled">{q.scheduled}</td>
                <td data-count="waiting">{q.waiting > 0 ? <a href={`#/jobs?status=waiting&queue=${encodeURIComponent(q.queue)}`}>{q.waiting}</a> : 0}</td>
                <td data-count="processing">{q.processing}</td>
                <td data-count="failed">{q.failed > 0 ? <a href={`#/jobs?status=failed&queue=${encodeURIComponent(q.queue)}`}>{q.failed}</a> : 0}</td>
                <td>{age(q.oldestPendingAgeSeconds)}</td>
                <td data-count="completed">{q.completedLastHour}</td>
                <td>{percent(q.successRate)}</td>
              </tr>
            ))}
            {queues.length === 0 && <tr><td colSpan={11}>No live jobs and nothing finished in the last hour.</td></tr>}
          </tbody>
        </table>
      </div>
      <Throughput queues={queues} />
    </section>
  );
}
