import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import './style.css';
import { JobList } from './jobs.jsx';
import { JobDetail } from './job.jsx';
import { Queues } from './queues.jsx';
import { Activity } from './activity.jsx';
import { Schedules } from './schedules.jsx';
import { useStream } from './stream.js';

const route = () => {
  const [path, search = ''] = location.hash.replace(/^#/, '').split('?');
  return { path: path || '/', params: Object.fromEntries(new URLSearchParams(search)) };
};

function App() {
  const [where, setWhere] = useState(route());
  const [search, setSearch] = useState('');
  const live = useStream();
  useEffect(() => {
    const onHash = () => setWhere(route());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);

  const onSearch = (event) => {
    event.preventDefault();
    const text = search.trim();
    if (/^[0-9a-f-]{36}$/i.test(text)) location.hash = `#/job/${text}`;
    else if (text.startsWith('group:')) location.hash = `#/jobs?group=${encodeURIComponent(text.slice(6))}`;
    else if (text) location.hash = `#/jobs?task=${encodeURIComponent(text)}`;
  };

  const [, view, id] = where.path.split('/');
  return (
    <>
      <header>
        <a class="brand" href="#/">supajobs</a>
        <nav aria-label="Main">
          <a href="#/" aria-current={view === '' ? 'page' : undefined}>Queues</a>
          <a href="#/jobs" aria-current={view === 'jobs' ? 'page' : undefined}>Jobs</a>
          <a href="#/jobs?status=failed">Failed</a>
          <a href="#/schedules" aria-current={view === 'schedules' ? 'page' : undefined}>Schedules</a>
          <a href="#/activity" aria-current={view === 'activity' ? 'page' : undefined}>Activity</a>
        </nav>
        <form class="search" role="search" onSubmit={onSearch}>
          <label class="hidden" for="search">Search by job id, task, or group:name</label>
          <input id="search" type="search" placeholder="job id, task, or group:name" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
          <button type="submit">Search</button>
        </form>
        <span class={`live ${live.connected ? 'on' : 'off'}`} role="status">{live.connected ? 'live' : 'reconnecting'}</span>
        <form method="post" action="/dashboard/logout"><button type="submit" class="quiet">Sign out</button></form>
      </header>
      <main>
        {view === 'jobs' ? <JobList filter={where.params} live={live} />
          : view === 'job' ? <JobDetail id={id} live={live} />
          : view === 'activity' ? <Activity live={live} />
          : view === 'schedules' ? <Schedules live={live} />
          : <Queues live={live} />}
      </main>
    </>
  );
}

const root = document.getElementById('app');
root.textContent = ''; // the static "Loading…" placeholder
render(<App />, root);
