import CircuitBreaker from 'opossum';
import { PermanentJobError, RetryableJobError } from '../errors.js';

/** A code for a status, a status range ('4xx', '5xx'), 'network' or 'timeout'; retryable as the default says unless given. */
export type HttpErrorCodes = Record<string, string | { code: string; retryable: boolean }>;

export interface HttpCallOptions extends RequestInit {
  /** The job's signal (ctx.signal): the call is aborted with the job (its timeout, a shutdown). */
  signal?: AbortSignal;
  /** Overrides of the status → error-code table (see DEFAULTS). */
  codes?: HttpErrorCodes;
  /** No response headers this long after the call began (sending its body included): it is aborted and fails with the 'timeout' code (retried by default). */
  timeoutMs?: number;
}

/** 4xx permanent but 408/425/429; 5xx and network errors transient. */
const DEFAULTS: Record<string, { code: string; retryable: boolean }> = {
  '408': { code: 'HTTP_THROTTLED', retryable: true },
  '425': { code: 'HTTP_THROTTLED', retryable: true },
  '429': { code: 'HTTP_THROTTLED', retryable: true },
  '4xx': { code: 'HTTP_CLIENT_ERROR', retryable: false },
  '5xx': { code: 'HTTP_SERVER_ERROR', retryable: true },
  network: { code: 'HTTP_NETWORK', retryable: true },
  timeout: { code: 'HTTP_NETWORK', retryable: true },
};

/** Per host: opens after half of at least 5 calls in 10 s failed transiently; tries again after 10 s. */
const BREAKER_OPTIONS: CircuitBreaker.Options = { errorThresholdPercentage: 50, volumeThreshold: 5, rollingCountTimeout: 10_000, resetTimeout: 10_000, timeout: false };
const breakers = new Map<string, CircuitBreaker<[() => Promise<Response>], Response>>();

function breakerFor(host: string): CircuitBreaker<[() => Promise<Response>], Response> {
  let breaker = breakers.get(host);
  if (!breaker) {
    breaker = new CircuitBreaker((call: () => Promise<Response>) => call(), {
      ...BREAKER_OPTIONS,
      // A 4xx (throttling included) says nothing about the host's health: only 5xx and network errors count.
      errorFilter: (error: unknown) => typeof (error as { status?: unknown }).status === 'number' && (error as { status: number }).status < 500,
    });
    breakers.set(host, breaker);
  }
  return breaker;
}

function codeFor(key: string, range: string, overrides: HttpErrorCodes | undefined): { code: string; retryable: boolean } {
  const fallback = DEFAULTS[key] ?? DEFAULTS[range] ?? { code: 'HTTP_ERROR', retryable: true };
  const own = overrides?.[key] ?? overrides?.[range];
  if (own === undefined) return fallback;
  return typeof own === 'string' ? { code: own, retryable: fallback.retryable } : own;
}

/** Retry-After (seconds or an HTTP date) in milliseconds, if present and sane. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - now;
  return Number.isFinite(ms) && ms >= 0 ? Math.min(ms, 86_400_000) : undefined;
}

function failure(code: { code: string; retryable: boolean }, message: string, retryAfter?: number, cause?: unknown): Error {
  return code.retryable ? new RetryableJobError(message, { code: code.code, retryAfterMs: retryAfter, cause }) : new PermanentJobError(message, { code: code.code, cause });
}

/**
 * fetch with job semantics: a 2xx/3xx response is returned; any other outcome throws a job error
 * with a code from the table (PermanentJobError: not retried; RetryableJobError: retried, after
 * Retry-After when the server sent one); no headers within timeoutMs is the 'timeout' code. Calls go through a circuit breaker per host: while it is
 * open, calls fail at once with HTTP_CIRCUIT_OPEN (retried after the breaker's reset time).
 */
export async function httpCall(url: string | URL, options: HttpCallOptions = {}): Promise<Response> {
  const { codes, timeoutMs, ...init } = options;
  const target = new URL(url);
  const breaker = breakerFor(target.host);
  const call = async (): Promise<Response> => {
    let response: Response;
    // Bounds the wait for headers only: the body is read by the caller, under the job's signal.
    const timeout = new AbortController();
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => timeout.abort(), timeoutMs);
    try {
      response = await fetch(target, { ...init, signal: init.signal ? AbortSignal.any([init.signal, timeout.signal]) : timeout.signal });
    } catch (error) {
      if (init.signal?.aborted) throw init.signal.reason ?? error;
      if (timeout.signal.aborted) throw failure(codeFor('timeout', 'timeout', codes), `${target.host} sent no answer within ${timeoutMs} ms`, undefined, error);
      throw failure(codeFor('network', 'network', codes), `${target.host}: ${(error as Error).message}`, undefined, error);
    } finally {
      clearTimeout(timer);
    }
    if (response.status < 400) return response;
    const body = await response.text().catch(() => '');
    const code = codeFor(String(response.status), `${String(response.status)[0]}xx`, codes);
    const error = failure(code, `${target.host} answered ${response.status}: ${body.slice(0, 200)}`, retryAfterMs(response.headers.get('retry-after')));
    throw Object.assign(error, { status: response.status });
  };
  try {
    return await breaker.fire(call);
  } catch (error) {
    if ((error as { code?: string }).code === 'EOPENBREAKER') {
      throw new RetryableJobError(`circuit open for ${target.host}`, { code: 'HTTP_CIRCUIT_OPEN', retryAfterMs: BREAKER_OPTIONS.resetTimeout, cause: error });
    }
    throw error;
  }
}
