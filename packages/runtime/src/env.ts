import { z } from 'zod';

import { StartupError } from './startup-error.js';

/**
 * Parses the process environment once, at start-up. A bad value throws a StartupError naming the
 * first variable at fault, which `guardStartup` prints as one line before exiting 1.
 */
export function loadEnv<S extends z.ZodType>(
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
): z.output<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  throw envError(result.error);
}

/** The first invalid variable of a failed parse, as a StartupError naming it. */
export function envError(error: z.ZodError): StartupError {
  const issue = error.issues[0];
  return new StartupError(
    'INVALID_CONFIG',
    issue?.path.join('.') || 'environment',
    issue?.message ?? 'invalid',
    { cause: error },
  );
}

/** `NAME: problem` for the first invalid variable. */
export function formatEnvError(error: z.ZodError): string {
  return envError(error).toLine();
}

/** A PostgreSQL connection string. */
export const databaseUrl = z
  .string({ error: 'required (a PostgreSQL connection string)' })
  .refine((value) => /^postgres(ql)?:\/\//.test(value) && URL.canParse(value), {
    message: 'must be a postgres:// or postgresql:// URL',
  });

/**
 * A whole number from an environment string: decimal digits only. `Number()` alone would also read
 * `0x50` (80), `1e3` (1000), ` 80` and `8.0`, so a typo could silently pick a privileged port or a
 * timing a thousand times off; leading zeros are harmless and allowed.
 */
export function intFromEnv(options: { min: number; max: number; default: number }) {
  return z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value === '') return options.default;
      const n = /^[0-9]+$/.test(value) ? Number(value) : Number.NaN;
      if (!Number.isSafeInteger(n) || n < options.min || n > options.max) {
        ctx.addIssue({
          code: 'custom',
          message: `must be a whole number from ${options.min} to ${options.max}`,
        });
        return z.NEVER;
      }
      return n;
    });
}

/** Log level, as pino names them. */
export const logLevel = z
  .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  .default('info');
