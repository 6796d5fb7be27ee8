/**
 * What a test can break in the stand-in, and what it can count. Socket faults (drop, close
 * channels, silence) live on the Realtime server; this holds the RPC faults and the counters.
 */

/** A status to answer with instead of running the call, or 'network' to cut the connection. */
export type RpcFault = number | 'network';

export class RpcFaults {
  #queue: RpcFault[] = [];

  /** The next `count` RPC calls fail with this status (e.g. 503) or a dropped connection. */
  failNext(count: number, fault: RpcFault = 503): void {
    for (let i = 0; i < count; i++) this.#queue.push(fault);
  }

  take(): RpcFault | undefined {
    return this.#queue.shift();
  }

  get pending(): number {
    return this.#queue.length;
  }
}

export class StandInCounters {
  /** RPC calls received per function, including those a fault failed. */
  readonly rpcCalls = new Map<string, number>();
  /** RPC calls failed on purpose. */
  rpcFaults = 0;
  /** Websocket frames sent and received, and sent per event name. */
  framesSent = 0;
  framesReceived = 0;
  readonly framesSentByEvent = new Map<string, number>();
  socketsOpened = 0;
  joins = 0;
  /** Rows of realtime.messages relayed (each once, to however many channels). */
  broadcastsRelayed = 0;

  countRpc(fn: string): void {
    this.rpcCalls.set(fn, (this.rpcCalls.get(fn) ?? 0) + 1);
  }

  countFrameSent(event: string): void {
    this.framesSent++;
    this.framesSentByEvent.set(event, (this.framesSentByEvent.get(event) ?? 0) + 1);
  }

  rpc(fn: string): number {
    return this.rpcCalls.get(fn) ?? 0;
  }

  sent(event: string): number {
    return this.framesSentByEvent.get(event) ?? 0;
  }
}
