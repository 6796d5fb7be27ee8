
/** A usage mistake: printed with the command's help, exit code 2. */
export class UsageError extends Error {
  readonly code = 'INVALID_ARGUMENT';
}

/** Runs an argument parser (node:util parseArgs), turning its errors into UsageErrors. */
export function usage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** "7d", "12h", "30m", "45s" or a number of seconds → seconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(d|h|m|s)?$/.exec(text.trim());
  if (!match) throw new UsageError(`invalid duration "${text}": use e.g. 7d, 12h, 30m or 45s`);
  const unit = { d: 86_400, h: 3_600, m: 60, s: 1 }[(match[2] ?? 's') as 'd' | 'h' | 'm' | 's'];
  return Number(match[1]) * unit;
}

export function parseInteger(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value)) throw new UsageError(`--${name} must be a whole number`);
  return value;
}
