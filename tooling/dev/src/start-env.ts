import { isAbsolute, join, resolve } from 'node:path';

import { ROOT } from '@runstream/testkit';
import { z } from 'zod';

const port = (min: number) =>
  z
    .string()
    .regex(/^\d{1,5}$/, `must be a whole number from ${min} to 65535`)
    .transform(Number)
    .refine((n) => n >= min && n <= 65_535, `must be a whole number from ${min} to 65535`);

/** What `pnpm start` reads of its environment; everything else passes through to the apps. */
const StartEnvSchema = z.object({
  /** Where the embedded PostgreSQL and the lock live. @default <repo>/.runstream */
  RUNSTREAM_HOME: z.string().min(1).default(join(ROOT, '.runstream')),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: port(1).default(3000),
  /** The embedded server's preferred port; taken or 0 picks a free one. */
  RUNSTREAM_PG_PORT: port(0).default(54329),
  /** Set to 1 to skip the build (the end-to-end test builds first). */
  RUNSTREAM_SKIP_BUILD: z.enum(['0', '1']).default('0'),
  DATABASE_URL: z.string().min(1).optional(),
});

export type StartEnv = z.output<typeof StartEnvSchema>;

/** Parses the environment, or names the first variable at fault in one line. */
export function parseStartEnv(
  env: NodeJS.ProcessEnv,
): { ok: true; env: StartEnv } | { ok: false; problem: string } {
  const result = StartEnvSchema.safeParse(env);
  if (result.success) return { ok: true, env: result.data };
  const issue = result.error.issues[0];
  return { ok: false, problem: `${issue?.path.join('.') ?? 'environment'}: ${issue?.message}` };
}

/** RUNSTREAM_GRAPHS with its relative paths made absolute from `cwd`; package names stay as they are. */
export function graphModulesFrom(cwd: string, list: string): string {
  return list
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) =>
      /^\.{1,2}[\\/]|\.[cm]?js$/.test(entry) && !isAbsolute(entry) ? resolve(cwd, entry) : entry,
    )
    .join(',');
}
