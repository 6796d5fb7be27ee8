import { defaultResource, resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { ConfigError } from '../errors.js';

export type ExporterProtocol = 'http/protobuf' | 'http/json';

/** OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf (the specification's default). */
export function exporterProtocol(env: NodeJS.ProcessEnv): ExporterProtocol {
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || 'http/protobuf').trim();
  if (protocol === 'http/protobuf' || protocol === 'http/json') return protocol;
  throw new ConfigError(`OTEL_EXPORTER_OTLP_PROTOCOL: expected http/protobuf or http/json, not "${protocol}" (grpc is not supported)`);
}

/** OTEL_RESOURCE_ATTRIBUTES's key=value pairs (values percent-encoded, as the specification says). */
function resourceAttributes(value: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (value ?? '').split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    try {
      out[pair.slice(0, at).trim()] = decodeURIComponent(pair.slice(at + 1).trim());
    } catch {
      out[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
    }
  }
  return out;
}

/** The resource: the SDK's defaults, OTEL_RESOURCE_ATTRIBUTES, then OTEL_SERVICE_NAME (default "supajobs"). */
export function tracingResource(env: NodeJS.ProcessEnv, version: string): Resource {
  const fromEnv = resourceAttributes(env.OTEL_RESOURCE_ATTRIBUTES);
  return defaultResource().merge(
    resourceFromAttributes({
      'service.version': version,
      ...fromEnv,
      'service.name': env.OTEL_SERVICE_NAME || fromEnv['service.name'] || 'supajobs',
    }),
  );
}
