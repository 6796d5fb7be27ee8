import type { Logger } from '../logger.js';
import { NO_TRACING, type Tracing } from './tracing.js';

/**
 * Whether the standard OTEL_* variables ask for traces: OTEL_TRACES_EXPORTER set to an exporter
 * (not "none"), or an OTLP endpoint set with no exporter named; never with OTEL_SDK_DISABLED=true.
 * Unset, tracing is off: the SDK is not loaded and every span call is a no-op.
 */
export function tracingRequested(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  const exporters = env.OTEL_TRACES_EXPORTER?.trim();
  if (exporters) return exporters.split(',').some((e) => e.trim() !== 'none');
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

let loaded: Promise<Tracing> | undefined;

/**
 * The process's tracing: NO_TRACING unless the environment asks for it, else the OpenTelemetry
 * SDK, imported here on first use and shared by every worker and client of the process.
 */
export function loadTracing(env: NodeJS.ProcessEnv, logger: Logger): Promise<Tracing> {
  if (!tracingRequested(env)) return Promise.resolve(NO_TRACING);
  loaded ??= import('./otel.js').then((otel) => otel.startTracing(env, logger));
  return loaded;
}
