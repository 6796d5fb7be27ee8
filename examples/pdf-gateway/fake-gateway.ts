import { createHash } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';

/**
 * A stand-in for a PDF → XML conversion gateway, to run the example without one. POST /convert
 * with a PDF: 200 with XML (one <chunk> of base64 per 48 KiB of the document), 413 above maxBytes,
 * 415 for what does not start with %PDF-. A directive in the document picks a failure:
 * %fake:400, %fake:406, %fake:502 (always), %fake:502-once, %fake:hang-once (no answer), and
 * %fake:stall-once (half of the XML, then nothing): "-once" fails the first request for that
 * document and answers the next ones.
 */
export function startFakeGateway(options: { port?: number; maxBytes?: number } = {}): Promise<Server> {
  const maxBytes = options.maxBytes ?? 16 * 1024 * 1024;
  const seen = new Set<string>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > maxBytes) return refuse(res, 413, `larger than ${maxBytes} bytes`);
      const pdf = Buffer.concat(chunks);
      if (!pdf.subarray(0, 5).equals(Buffer.from('%PDF-'))) return refuse(res, 415, 'not a PDF');
      const digest = createHash('sha256').update(pdf).digest('hex');
      const first = !seen.has(digest);
      seen.add(digest);
      const directive = /%fake:([\w-]+)/.exec(pdf.toString('latin1'))?.[1] ?? '';
      if (['400', '406', '502'].includes(directive)) return refuse(res, Number(directive), `refused (${directive})`);
      if (directive === '502-once' && first) return refuse(res, 502, 'upstream converter unavailable');
      if (directive === 'hang-once' && first) return;
      res.writeHead(200, { 'content-type': 'application/xml' });
      res.write(`<?xml version="1.0"?>\n<document sha256="${digest}" bytes="${pdf.length}">\n`);
      const step = 48 * 1024;
      const stallAt = directive === 'stall-once' && first ? Math.floor(pdf.length / 2) : Infinity;
      for (let at = 0; at < pdf.length; at += step) {
        if (at >= stallAt) return;
        res.write(`<chunk>${pdf.subarray(at, at + step).toString('base64')}</chunk>\n`);
      }
      res.end('</document>\n');
    });
  });
  return new Promise((resolve) => server.listen(options.port ?? 0, '127.0.0.1', () => resolve(server)));
}

function refuse(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'content-type': 'text/plain' }).end(message);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const server = await startFakeGateway({ port: Number(process.env.PORT ?? 8090) });
  console.log(`fake gateway on http://127.0.0.1:${(server.address() as { port: number }).port}/convert`);
}
