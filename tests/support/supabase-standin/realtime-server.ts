/**
 * `GET /realtime/v1/websocket?apikey=…&vsn=2.0.0` upgraded to a websocket. The apikey must be a
 * valid JWT with `role` and `exp` (else 403, as Realtime refuses the socket). Holds the open
 * connections, gives change delivery and the broadcast relay their subscribers, and carries the
 * socket faults.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { BroadcastSubscriber } from './broadcast-from-database.js';
import type { ChangeSubscriber } from './change-delivery.js';
import { RealtimeConnection, realtimeAuth, type ConnectionDependencies } from './realtime-connection.js';

export const REALTIME_PATH = '/realtime/v1/websocket';

export class RealtimeServer {
  readonly #wss = new WebSocketServer({ noServer: true });
  readonly #connections = new Set<RealtimeConnection>();
  readonly #deps: ConnectionDependencies;

  constructor(deps: ConnectionDependencies) {
    this.#deps = deps;
  }

  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer, url: URL): void {
    const token = url.searchParams.get('apikey') ?? '';
    const auth = realtimeAuth(token, this.#deps.jwtSecret);
    const vsn = url.searchParams.get('vsn') ?? '1.0.0';
    if (!auth.ok || vsn !== '2.0.0') {
      const status = auth.ok ? '400 Bad Request' : '403 Forbidden';
      socket.end(`HTTP/1.1 ${status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      return;
    }
    this.#wss.handleUpgrade(request, socket, head, (ws) => {
      this.#deps.counters.socketsOpened++;
      const connection = new RealtimeConnection(ws, token, this.#deps);
      this.#connections.add(connection);
      ws.on('close', () => this.#connections.delete(connection));
      ws.on('error', () => ws.terminate());
    });
  }

  subscribers(): ChangeSubscriber[] {
    return [...this.#connections].flatMap((c) => c.subscribers());
  }

  broadcastSubscribers(): BroadcastSubscriber[] {
    return [...this.#connections].flatMap((c) => c.broadcastSubscribers());
  }

  get socketCount(): number {
    return this.#connections.size;
  }

  get channelCount(): number {
    return [...this.#connections].reduce((n, c) => n + c.channelCount, 0);
  }

  dropSockets(): void {
    for (const connection of this.#connections) connection.terminate();
  }

  closeChannels(): void {
    for (const connection of this.#connections) connection.closeChannels();
  }

  goSilent(): void {
    for (const connection of this.#connections) connection.goSilent();
  }

  async stop(): Promise<void> {
    this.dropSockets();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }
}
