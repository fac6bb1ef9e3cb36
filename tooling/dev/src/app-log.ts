import { styleText } from 'node:util';

import { prettyFactory } from 'pino-pretty';

/**
 * Turns an app's output into readable lines under its name: pino JSON lines through pino-pretty
 * (time, level, message, then the other fields on the same line), anything else as it came.
 */
export function createAppLog(
  name: string,
  color: Parameters<typeof styleText>[0],
  options: { colorize: boolean; write: (text: string) => void },
): (line: string) => void {
  const prefix = `[${name}]`.padEnd(16);
  const label = options.colorize ? styleText(color, prefix) : prefix;
  const pretty = prettyFactory({
    colorize: options.colorize,
    translateTime: 'HH:MM:ss.l',
    ignore: 'pid,hostname,name',
    singleLine: true,
  });
  return (line) => {
    if (line === '') return;
    const text = pretty(line);
    for (const part of text.trimEnd().split('\n')) options.write(`${label} ${part}\n`);
  };
}
