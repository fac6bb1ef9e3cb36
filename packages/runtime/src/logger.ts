import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

/** The process logger: JSON lines on stdout, one `name` per process. */
export function createLogger(name: string, level: string = 'info'): Logger {
  return pino({ name, level, base: { pid: process.pid } });
}
