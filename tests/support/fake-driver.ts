/**
 * An in-memory stand-in for the driver calls the worker's own parts make (heartbeat, complete,
 * fail, release), for unit tests of those parts: it keeps which jobs this worker holds and
 * records every call. Never a stand-in for the database in an integration test: the SQL is
 * tested against a real PostgreSQL.
 */
import type { Completion, Driver, Failure } from '../../src/drivers/driver.js';
import { DatabaseError } from '../../src/errors.js';

export interface FakeCall {
  method: 'heartbeat' | 'complete' | 'fail' | 'release';
  ids: string[];
  /** When the call began and ended, in call order (for ordering assertions). */
  began: number;
  ended?: number;
}

export class FakeDriver {
  /** Job ids the worker holds; what the calls are fenced by. */
  readonly held = new Set<string>();
  readonly calls: FakeCall[] = [];
  /** Each call waits for this before answering (to hold calls under way). */
  gate: () => Promise<void> = async () => undefined;
  /** The next n calls of a method fail with a transient error. */
  readonly failNext = new Map<FakeCall['method'], number>();
  #clock = 0;

  async #call<T>(method: FakeCall['method'], ids: string[], answer: () => T): Promise<T> {
    const call: FakeCall = { method, ids, began: ++this.#clock };
    this.calls.push(call);
    try {
      await this.gate();
      const failures = this.failNext.get(method) ?? 0;
      if (failures > 0) {
        this.failNext.set(method, failures - 1);
        throw new DatabaseError(`${method}: connection reset`, { transient: true, unreachable: true });
      }
      return answer();
    } finally {
      call.ended = ++this.#clock;
    }
  }

  heartbeat(_workerId: string, ids: string[]): Promise<string[]> {
    return this.#call('heartbeat', ids, () => ids.filter((id) => this.held.has(id)));
  }

  complete(_workerId: string, completions: Completion[]): Promise<string[]> {
    const ids = completions.map((c) => c.id);
    return this.#call('complete', ids, () => ids.filter((id) => this.held.delete(id)));
  }

  fail(_workerId: string, failure: Failure): Promise<'pending' | 'failed' | null> {
    return this.#call('fail', [failure.id], () => (this.held.delete(failure.id) ? (failure.retryable ? 'pending' : 'failed') : null));
  }

  release(_workerId: string, ids: string[]): Promise<string[]> {
    return this.#call('release', ids, () => ids.filter((id) => this.held.delete(id)));
  }

  /** As a Driver for the parts under test (they call only the methods above). */
  asDriver(): Driver {
    return this as unknown as Driver;
  }
}
