import { type ChildProcess, spawn } from 'node:child_process';
import { connect as tcpConnect, createServer } from 'node:net';

/** A nats-server child process of a test's own, on a free port, that the test may stop and restart. */
export interface TestNatsServer {
  url: string;
  port: number;
  /** Kills the server (SIGKILL by default) and waits until it is gone. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
}

/** @default '/usr/sbin/nats-server' */
const BINARY = process.env.RUNSTREAM_NATS_SERVER_BIN ?? '/usr/sbin/nats-server';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

export interface TestNatsServerOptions {
  /** More nats-server arguments, e.g. `['--user', 'u', '--pass', 'p']` or `['--auth', 'token']`. */
  args?: string[];
}

/** Never the shared server on 4222: tests that restart a broker need one of their own. */
export async function startNatsServer(
  options: TestNatsServerOptions = {},
): Promise<TestNatsServer> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    const c = spawn(BINARY, ['-a', '127.0.0.1', '-p', String(port), ...(options.args ?? [])], {
      stdio: 'ignore',
    });
    child = c;
    let exited = false;
    c.once('exit', () => (exited = true));
    // The bus depends on events only, so this stays a private loop rather than the shared
    // waitFor of @runstream/persistence/testing.
    const deadline = Date.now() + 10_000;
    while (!exited && !(await accepts(port))) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for nats-server on ${port}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    if (exited) throw new Error(`nats-server exited at start on port ${port}`);
  };
  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    start,
    async stop(signal = 'SIGKILL') {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const gone = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      c.kill(signal);
      await gone;
    },
  };
}
