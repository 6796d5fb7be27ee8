import { useEffect, useState } from 'preact/hooks';

/**
 * The live feed: one EventSource on /api/v1/stream for the whole page. `queues` is the latest
 * overview, `events` the job events seen since the page opened (newest first, at most 200),
 * `version` grows with every job event so views can refresh what they show.
 */
export function useStream() {
  const [state, setState] = useState({ connected: false, queues: null, events: [], version: 0 });
  useEffect(() => {
    const source = new EventSource('/api/v1/stream');
    source.onopen = () => setState((s) => ({ ...s, connected: true }));
    source.onerror = () => setState((s) => ({ ...s, connected: false }));
    source.addEventListener('stats', (message) => {
      const { queues } = JSON.parse(message.data);
      setState((s) => ({ ...s, queues }));
    });
    source.addEventListener('job', (message) => {
      const event = JSON.parse(message.data);
      setState((s) => ({ ...s, events: [event, ...s.events].slice(0, 200), version: s.version + 1, last: event }));
    });
    return () => source.close();
  }, []);
  return state;
}
