import { appendFileSync } from 'node:fs';

export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  if (process.env.IMPORT_LOG && result.url.includes('/node_modules/@opentelemetry/')) appendFileSync(process.env.IMPORT_LOG, `${result.url}\n`);
  return result;
}
