import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { shortId, time } from './format.js';

export function EventRow({ event }) {
  return (
    <li>
      <time dateTime={event.createdAt}>{time(event.createdAt)}</time>{' '}
      <a href={`#/job/${event.jobId}`}>{shortId(event.jobId)}</a>{' '}
      <span class={`status ${event.toStatus}`}>{event.event}</span>{' '}
      <span>{event.task}</span>{' '}
      <span class="muted">attempt {event.attempt}{event.workerId ? ` · ${event.workerId}` : ''}</span>
      {event.errorCode && <span class="error-text"> {event.errorCode}: {event.message}</span>}
    </li>
  );
}

export function Activity({ live }) {
  const [recent, setRecent] = useState([]);
  useEffect(() => {
    api('GET', '/activity?limit=100').then((r) => setRecent(r.events), () => undefined);
  }, []);
  const seen = new Set(live.events.map((e) => e.id));
  const events = [...live.events, ...recent.filter((e) => !seen.has(e.id))].slice(0, 200);
  return (
    <section aria-labelledby="activity-title">
      <h1 id="activity-title">Activity</h1>
      <ol class="timeline">{events.map((e) => <EventRow key={e.id} event={e} />)}</ol>
    </section>
  );
}
