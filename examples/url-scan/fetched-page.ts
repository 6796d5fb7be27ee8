import type { StandardSchema } from 'supajobs';

/** What the sandboxed fetcher reports about a page. */
export interface FetchedPage {
  status: number;
  title: string | null;
  links: string[];
  scripts: string[];
}

const urls = (value: unknown) => Array.isArray(value) && value.length <= 5_000 && value.every((url) => typeof url === 'string');

/**
 * The fetcher's output, checked before use: it comes from a process that parsed a stranger's page.
 * Any Standard Schema does (zod, valibot, arktype); this one is written by hand to need no dependency.
 */
export const fetchedPage: StandardSchema<FetchedPage> = {
  '~standard': {
    version: 1,
    vendor: 'url-scan',
    validate: (value) => {
      const page = (value ?? {}) as Record<string, unknown>;
      const issues = [
        !(Number.isInteger(page.status) && Number(page.status) >= 100 && Number(page.status) <= 599) && 'status: an HTTP status',
        !(page.title === null || (typeof page.title === 'string' && page.title.length <= 300)) && 'title: at most 300 characters, or null',
        !urls(page.links) && 'links: at most 5000 URLs',
        !urls(page.scripts) && 'scripts: at most 5000 URLs',
      ].filter((issue) => issue !== false);
      return issues.length ? { issues: issues.map((message) => ({ message })) } : { value: page as unknown as FetchedPage };
    },
  },
};
