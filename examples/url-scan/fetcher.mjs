// The sandboxed fetcher: fetches one page and prints what it found as JSON. It parses what a
// stranger's server sent, so scan-url.ts runs it as a process of its own, under limits, and checks
// its output before using it. node:http rather than fetch: fetch's WebAssembly HTTP parser cannot
// start under the sandbox's address-space limit.
import http from 'node:http';
import https from 'node:https';

const MAX_BYTES = 1024 * 1024;
const url = new URL(process.argv[2] ?? '');
const response = await new Promise((resolve, reject) => {
  (url.protocol === 'https:' ? https : http).get(url, { agent: false, headers: { 'user-agent': 'url-scan' } }, resolve).on('error', reject);
});
response.setEncoding('utf8');
let html = '';
for await (const chunk of response) {
  html += chunk;
  if (html.length > MAX_BYTES) break;
}
response.destroy();
/** The absolute URLs in one attribute of one tag (hrefs of links, srcs of scripts). */
const urls = (tag, attribute) =>
  [...html.matchAll(new RegExp(`<${tag}\\b[^>]*\\b${attribute}\\s*=\\s*["']([^"']+)["']`, 'gi'))]
    .map((match) => URL.canParse(match[1], url) && new URL(match[1], url))
    .filter((link) => link && (link.protocol === 'http:' || link.protocol === 'https:'))
    .map((link) => link.href);

console.log(JSON.stringify({
  status: response.statusCode,
  title: /<title[^>]*>([\s\S]*?)<\/title>/i.exec(html)?.[1]?.trim() ?? null,
  links: urls('a', 'href'),
  scripts: urls('script', 'src'),
}));
