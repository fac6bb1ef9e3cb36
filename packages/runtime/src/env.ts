import { z } from 'zod';

/**
 * Parses the process environment once, at start-up. A bad value stops the process with one line
 * naming the variable (exit code 1, no stack trace), as the contract requires.
 */
export function loadEnv<S extends z.ZodType>(
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
): z.output<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  process.stderr.write(`${formatEnvError(result.error)}\n`);
  process.exit(1);
}

/** `NAME: problem` for the first invalid variable. */
export function formatEnvError(error: z.ZodError): string {
  const issue = error.issues[0];
  const name = issue?.path.join('.') || 'environment';
  return `${name}: ${issue?.message ?? 'invalid'}`;
}

/** A PostgreSQL connection string. */
export const databaseUrl = z
  .string({ error: 'required (a PostgreSQL connection string)' })
  .refine((value) => /^postgres(ql)?:\/\//.test(value) && URL.canParse(value), {
    message: 'must be a postgres:// or postgresql:// URL',
  });

/** A whole number of milliseconds or of something else, from an environment string. */
export function intFromEnv(options: { min: number; max: number; default: number }) {
  return z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value === '') return options.default;
      const n = Number(value);
      if (!Number.isInteger(n) || n < options.min || n > options.max) {
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
