import { pino, type DestinationStream, type Logger } from 'pino';
import { createRequire } from 'node:module';
import type { Config } from './config.js';

export type { Logger };

export interface LoggerOptions {
  level: string;
  /** pino-pretty output for people (development) instead of JSON lines. */
  pretty: boolean;
  /** Values that must never be written (service key, database passwords); replaced in every line. */
  secrets?: (string | null | undefined)[];
  /** Base fields of every line (workerId). */
  base?: Record<string, unknown>;
  destination?: DestinationStream;
  /** Write to stderr (one-shot CLI commands, whose stdout is their answer). */
  stderr?: boolean;
}

const REDACTED = '[REDACTED]';

/**
 * pino, JSON in production and pino-pretty in development. Secrets are kept out twice: known
 * fields are redacted by path, and every known secret value is masked in the finished line, so a
 * key that slips into an error message or a URL is not written either.
 */
export function createLogger(options: LoggerOptions): Logger {
  const secrets = secretValues(options.secrets ?? []);
  const mask = (line: string) => secrets.reduce((out, secret) => out.split(secret).join(REDACTED), line);
  const fd = options.stderr ? 2 : 1;
  const destination = options.destination ?? (options.pretty ? prettyStream(fd) : pino.destination({ fd, sync: true }));
  return pino(
    {
      level: options.level,
      base: options.base ?? null,
      redact: {
        paths: [
          'serviceRoleKey',
          'supabaseServiceRoleKey',
          'password',
          '*.password',
          'headers.authorization',
          'headers.apikey',
          '*.headers.authorization',
          '*.headers.apikey',
          'req.headers.authorization',
        ],
        censor: REDACTED,
      },
      hooks: secrets.length > 0 ? { streamWrite: mask } : {},
    },
    destination,
  );
}

/**
 * The logger a configuration asks for: its level, pino-pretty in development, JSON otherwise,
 * the service-role key, the database password and the admin token masked, the worker id on every line. Options
 * override (the library's connect() logs warnings only, without a worker id).
 */
export function createConfiguredLogger(
  config: Pick<Config, 'logLevel' | 'nodeEnv' | 'supabaseServiceRoleKey' | 'databaseUrl' | 'workerId' | 'adminToken'>,
  overrides: Partial<LoggerOptions> = {},
): Logger {
  return createLogger({
    level: config.logLevel,
    pretty: config.nodeEnv === 'development',
    secrets: [config.supabaseServiceRoleKey, config.databaseUrl, config.adminToken],
    base: { workerId: config.workerId },
    ...overrides,
  });
}

/** The secrets to mask: given values, plus the password of any connection URL among them, and its URL-encoded form. */
function secretValues(values: (string | null | undefined)[]): string[] {
  const out = new Set<string>();
  for (const value of values) {
    if (!value) continue;
    const password = urlPassword(value);
    if (password !== undefined) {
      out.add(password);
      out.add(decodeURIComponent(password));
    } else {
      out.add(value);
    }
  }
  // Too short to mask without garbling ordinary text.
  return [...out].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
}

function urlPassword(value: string): string | undefined {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return undefined;
  try {
    const password = new URL(value).password;
    return password === '' ? '' : password;
  } catch {
    return undefined;
  }
}

/** A connection URL fit for a log line: the password replaced. */
export function redactUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.password) url.password = REDACTED;
    return url.toString();
  } catch {
    return REDACTED;
  }
}

/** pino-pretty, loaded only when asked for (development): production workers skip its start-up cost. */
function prettyStream(fd: 1 | 2): DestinationStream {
  const pretty = createRequire(import.meta.url)('pino-pretty') as (options: object) => DestinationStream;
  return pretty({ sync: true, destination: fd, colorize: (fd === 1 ? process.stdout : process.stderr).isTTY });
}
