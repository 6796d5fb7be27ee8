/**
 * A TCP proxy on 127.0.0.1 in front of PostgreSQL that knows each connection's application_name
 * (read from the startup packet) and can freeze connections: a frozen connection forwards nothing
 * either way and is never closed by the proxy, so the client holds a half-open socket, as behind a
 * NAT or load balancer that dropped the flow silently.
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const PROTOCOL_3 = 196608;

interface ProxiedConnection {
  client: Socket;
  server: Socket;
  openedAt: number;
  applicationName: string | undefined;
  frozen: boolean;
}

export class PgProxy {
  readonly #target: { host: string; port: number };
  readonly #server: Server;
  readonly #connections = new Set<ProxiedConnection>();
  /** Every connection ever proxied: when it opened and its application_name. */
  readonly history: { openedAt: number; applicationName: string | undefined }[] = [];
  #port = 0;

  constructor(target: { host: string; port: number }) {
    this.#target = target;
    this.#server = createServer((client) => this.#accept(client));
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(0, '127.0.0.1', () => resolve());
    });
    this.#port = (this.#server.address() as AddressInfo).port;
  }

  /** The same connection URL, through the proxy. */
  urlFor(databaseUrl: string): string {
    const url = new URL(databaseUrl);
    url.hostname = '127.0.0.1';
    url.port = String(this.#port);
    return url.href;
  }

  /** Freezes every open connection with this application_name; how many. */
  freeze(applicationName: string): number {
    let count = 0;
    for (const c of this.#connections) {
      if (c.applicationName === applicationName && !c.frozen) {
        c.frozen = true;
        count++;
      }
    }
    return count;
  }

  /** Connections with this application_name opened at or after since. */
  openedSince(applicationName: string, since: number): number {
    return this.history.filter((h) => h.applicationName === applicationName && h.openedAt >= since).length;
  }

  async stop(): Promise<void> {
    for (const c of this.#connections) c.client.destroy(), c.server.destroy();
    this.#connections.clear();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    const server = connect(this.#target.port, this.#target.host);
    const entry: ProxiedConnection = { client, server, openedAt: Date.now(), applicationName: undefined, frozen: false };
    this.#connections.add(entry);
    let startup: Buffer | undefined = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      if (startup) {
        startup = Buffer.concat([startup, chunk]);
        const parsed = parseStartup(startup);
        if (parsed.done) {
          startup = undefined;
          entry.applicationName = parsed.applicationName;
          this.history.push({ openedAt: entry.openedAt, applicationName: parsed.applicationName });
        } else {
          startup = startup.subarray(parsed.consumed);
        }
      }
      if (!entry.frozen) server.write(chunk);
    });
    server.on('data', (chunk: Buffer) => {
      if (!entry.frozen) client.write(chunk);
    });
    const close = () => {
      this.#connections.delete(entry);
      client.destroy();
      server.destroy();
    };
    // The client going away always ends the pair; the server going away only while not frozen.
    client.on('close', close);
    server.on('close', () => {
      if (!entry.frozen) close();
    });
    client.on('error', () => undefined);
    server.on('error', () => undefined);
  }
}

/**
 * Reads the client's first messages: SSL/GSS requests (skipped) and the StartupMessage.
 * consumed: bytes of complete requests to drop before reading on.
 */
function parseStartup(buffer: Buffer): { done: boolean; consumed: number; applicationName?: string } {
  let offset = 0;
  while (buffer.length - offset >= 8) {
    const length = buffer.readInt32BE(offset);
    const code = buffer.readInt32BE(offset + 4);
    if (buffer.length - offset < length) break;
    if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
      offset += length;
      continue;
    }
    if (code !== PROTOCOL_3) return { done: true, consumed: offset };
    const fields = buffer.subarray(offset + 8, offset + length).toString('utf8').split('\0');
    for (let i = 0; i + 1 < fields.length; i += 2) {
      if (fields[i] === 'application_name') return { done: true, consumed: offset, applicationName: fields[i + 1] };
    }
    return { done: true, consumed: offset };
  }
  return { done: false, consumed: offset };
}
