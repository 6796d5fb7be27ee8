import { cleanEnv, makeValidator } from 'envalid';
import { ConfigError } from './errors.js';
import { SETTINGS, type Setting } from './config-settings.js';

export { SETTINGS } from './config-settings.js';

export type Transport = 'postgres' | 'supabase' | 'embedded';

type Settings = typeof SETTINGS;

/** The configuration: one field per row of SETTINGS (src/config-settings.ts), TRANSPORT resolved. */
export type Config = Omit<{ [K in keyof Settings]: Settings[K] extends Setting<any, infer V> ? V : never }, 'transport'> & {
  transport: Transport;
};

/** Every default, as SETTINGS gives it (before derivation: e.g. embeddedDir relative, workerId null). */
export const DEFAULTS = Object.freeze(
  Object.fromEntries(Object.entries(SETTINGS).map(([key, setting]) => [key, setting.default])),
) as { readonly [K in keyof Settings]: Settings[K] extends Setting<infer T, any> ? T : never };

export type ConfigVariable = Settings[keyof Settings]['env'];
export const CONFIG_VARIABLES = Object.values(SETTINGS).map((setting) => setting.env) as ConfigVariable[];

/**
 * Reads the environment into a frozen, typed Config. Throws one ConfigError naming every bad
 * variable with what it expects, never with its value.
 */
export function loadConfig(environment: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  // An empty variable (e.g. `DATABASE_URL=` in .env) means unset.
  const env = Object.fromEntries(Object.entries(environment).filter(([, v]) => v !== undefined && v !== ''));
  const settings = Object.entries(SETTINGS) as [keyof Settings, Setting<unknown, unknown>][];
  const specs = Object.fromEntries(settings.map(([, s]) => [s.env, makeValidator(s.parse)({ default: undefined, desc: s.expects })]));
  const expects = new Map(settings.map(([, s]) => [s.env, s.expects]));
  const problems: string[] = [];
  const clean = cleanEnv(env, specs, {
    reporter: ({ errors }) => {
      for (const name of Object.keys(errors)) problems.push(`${name}: expected ${expects.get(name)}`);
    },
  }) as Record<string, unknown>;

  // Cross-variable rules read the raw values: a variable that failed above is absent from `clean`.
  if (env.SUPABASE_URL && !env.SUPABASE_SERVICE_ROLE_KEY) {
    problems.push('SUPABASE_SERVICE_ROLE_KEY: required with SUPABASE_URL');
  }
  const transport = chooseTransport(env.TRANSPORT ?? 'auto', env.DATABASE_URL, env.SUPABASE_URL, problems);
  if (problems.length > 0) {
    throw new ConfigError(`Invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
  const values = settings.map(([key, s]) => {
    const value = clean[s.env] ?? s.default;
    return [key, s.derive ? s.derive(value) : value];
  });
  return Object.freeze({ ...(Object.fromEntries(values) as Config), transport: transport as Transport });
}

/** SUPABASE_URL → supabase, DATABASE_URL → postgres, neither → embedded; both need TRANSPORT. */
function chooseTransport(
  requested: string,
  databaseUrl: string | undefined,
  supabaseUrl: string | undefined,
  problems: string[],
): Transport | undefined {
  if (requested === 'postgres' && !databaseUrl) problems.push('DATABASE_URL: required with TRANSPORT=postgres');
  if (requested === 'supabase' && !supabaseUrl) problems.push('SUPABASE_URL: required with TRANSPORT=supabase');
  if (requested !== 'auto') return requested as Transport;
  if (databaseUrl && supabaseUrl) {
    problems.push('TRANSPORT: both DATABASE_URL and SUPABASE_URL are set; set TRANSPORT=postgres or TRANSPORT=supabase');
    return undefined;
  }
  if (supabaseUrl) return 'supabase';
  if (databaseUrl) return 'postgres';
  return 'embedded';
}
