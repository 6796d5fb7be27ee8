export const time = (iso) => (iso ? new Date(iso).toLocaleString() : '–');
export const age = (seconds) =>
  seconds == null ? '–' : seconds < 90 ? `${Math.round(seconds)} s` : seconds < 5400 ? `${Math.round(seconds / 60)} min` : `${(seconds / 3600).toFixed(1)} h`;
export const percent = (rate) => (rate == null ? '–' : `${(rate * 100).toFixed(1)} %`);
export const json = (value) => JSON.stringify(value, null, 2);
export const shortId = (id) => id.slice(0, 8);
