import { type ChildProcess, spawn } from 'node:child_process';
import { accepts } from '@runstream/testkit';

import { freePort, waitFor } from './wait.js';

const NATS_SERVER = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';

/** A nats-server child of the suite's own on a free port (the shared one on 4222 is never touched). */
export interface NatsServer {
  url: string;
  port: number;
  /** Kills the server (SIGKILL: in-flight messages are lost), waits `downMs`, starts it on the same port. */
  restart(options?: { downMs?: number }): Promise<void>;
  close(): Promise<void>;
}

export async function startNatsServer(): Promise<NatsServer> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    const current = spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(port)], {
      stdio: 'ignore',
    });
    child = current;
    await waitFor(
      'nats-server to listen',
      async () => {
        if (current.exitCode !== null)
          throw new Error(`nats-server exited with ${current.exitCode}`);
        return accepts(port);
      },
      15_000,
    );
  };
  const kill = async (): Promise<void> => {
    const current = child;
    if (!current || current.exitCode !== null || current.signalCode !== null) return;
    const exited = new Promise((resolve) => current.once('exit', resolve));
    current.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    async restart({ downMs = 0 } = {}) {
      await kill();
      await new Promise((resolve) => setTimeout(resolve, downMs));
      await start();
    },
    close: kill,
  };
}
