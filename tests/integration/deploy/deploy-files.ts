import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PROJECT_DIR } from './commands.js';

export interface DockerInstruction {
  /** Upper case: FROM, RUN, COPY… */
  name: string;
  args: string;
}

/** The Dockerfile's instructions by stage (a stage starts at each FROM), comments dropped, continuation lines joined. */
export async function dockerfileStages(): Promise<DockerInstruction[][]> {
  const text = (await readFile(path.join(PROJECT_DIR, 'Dockerfile'), 'utf8'))
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n\s*/g, ' ');
  const stages: DockerInstruction[][] = [];
  for (const line of text.split('\n')) {
    const match = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!match) continue;
    const instruction = { name: (match[1] as string).toUpperCase(), args: (match[2] as string).trim() };
    if (instruction.name === 'FROM') stages.push([]);
    stages.at(-1)?.push(instruction);
  }
  return stages;
}

/** The shell command of the Dockerfile's HEALTHCHECK (shell form, so that ${HEALTH_CHECK_PORT:-…} expands). */
export async function dockerHealthcheckCommand(): Promise<string> {
  const runtime = (await dockerfileStages()).at(-1) ?? [];
  const healthcheck = runtime.find((i) => i.name === 'HEALTHCHECK');
  assert.ok(healthcheck, 'the runtime stage of the Dockerfile has a HEALTHCHECK');
  const match = /^(?:--\S+\s+)*CMD\s+(.+)$/.exec(healthcheck.args);
  assert.ok(match, `HEALTHCHECK ${healthcheck.args}: expected [options] CMD <command>`);
  const command = (match[1] as string).trim();
  assert.ok(!command.startsWith('['), 'the HEALTHCHECK is expected in shell form: the exec form would not expand ${HEALTH_CHECK_PORT:-8080}');
  return command;
}

/** Milliseconds of a compose duration such as 40s, 1m30s or 500ms. */
export function composeDurationMs(value: string): number {
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001 };
  let total = 0;
  const rest = value.replace(/(\d+(?:\.\d+)?)(h|ms|m|s|us)/g, (_, amount: string, unit: string) => {
    total += Number(amount) * (units[unit] as number);
    return '';
  });
  assert.equal(rest.trim(), '', `"${value}" is not a compose duration`);
  return total;
}

/** The lines of one service of docker-compose.yml (two-space indented under `services:`). */
export async function composeService(name: string): Promise<string> {
  const text = await readFile(path.join(PROJECT_DIR, 'docker-compose.yml'), 'utf8');
  const lines = text.split('\n');
  const start = lines.findIndex((line) => line === `  ${name}:`);
  assert.ok(start >= 0, `docker-compose.yml has a service "${name}"`);
  const end = lines.findIndex((line, i) => i > start && /^ {0,2}\S/.test(line));
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}
