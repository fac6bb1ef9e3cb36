import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

import { accepts, freePort } from './net.js';
import { firstLine } from './postgres.js';
import { recordSkip } from './skipped.js';
import { pause, waitFor } from './wait.js';

/**
 * Folders searched after PATH: Debian and Ubuntu install nats-server in /usr/sbin, which is not on
 * an ordinary user's PATH (only root's).
 */
export const SBIN_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'] as const;

/**
 * The nats-server binary: RUNSTREAM_NATS_SERVER_BIN when set, else the first `nats-server` on PATH,
 * else one in the sbin folders (`SBIN_DIRS`).
 */
export function findNatsServerBinary(
  env: NodeJS.ProcessEnv = process.env,
  sbinDirs: readonly string[] = SBIN_DIRS,
): string | undefined {
  const explicit = env.RUNSTREAM_NATS_SERVER_BIN;
  // An explicit binary that is not there counts as none: the suites skip and say why.
  if (explicit) return executable(explicit) ? explicit : undefined;
  const dirs = [...(env.PATH ?? '').split(delimiter).filter(Boolean), ...sbinDirs];
  return dirs.map((dir) => join(dir, 'nats-server')).find(executable);
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** How this process can get NATS servers of its own, or why it cannot. */
export type NatsSource =
  | { kind: 'binary'; binary: string }
  | { kind: 'testcontainers' }
  | { kind: 'none'; reason: string };

let source: Promise<NatsSource> | undefined;

/**
 * The second and third steps of the NATS cascade (the first, RUNSTREAM_TEST_NATS_URL, serves only
 * suites that need a broker and nothing more; see `natsUrlForTests`): a nats-server binary, else
 * Testcontainers' NATS module when a Docker daemon answers. Asked once per process.
 */
export function natsSource(): Promise<NatsSource> {
  source ??= (async (): Promise<NatsSource> => {
    const binary = findNatsServerBinary();
    if (binary) return { kind: 'binary', binary };
    try {
      const { getContainerRuntimeClient } = await import('testcontainers');
      await getContainerRuntimeClient();
      return { kind: 'testcontainers' };
    } catch (error) {
      return {
        kind: 'none',
        reason:
          (process.env.RUNSTREAM_NATS_SERVER_BIN
            ? `RUNSTREAM_NATS_SERVER_BIN (${process.env.RUNSTREAM_NATS_SERVER_BIN}) is not an executable `
            : `no nats-server on PATH or in ${SBIN_DIRS.join(':')} `) +
          `and no Docker daemon for Testcontainers (${firstLine(error)})`,
      };
    }
  })();
  return source;
}

/**
 * For a test file's top level: whether it can start NATS servers of its own. When it cannot, the
 * skip of `suite` is recorded with the reason, and `pnpm test` names it in its closing line.
 *
 *     const withNats = await natsForTests('bus contract: nats');
 *     describe.runIf(withNats)('…', () => { … });
 */
export async function natsForTests(suite: string): Promise<boolean> {
  const found = await natsSource();
  if (found.kind !== 'none') return true;
  recordSkip({ suite, need: 'NATS', reason: found.reason });
  return false;
}

/** A NATS server of a test's own, on a port of its own, that the test may kill and start again. */
export interface TestNatsServer {
  url: string;
  port: number;
  kind: 'binary' | 'testcontainers';
  /** Kills the server (SIGKILL by default: in-flight messages are lost) and waits until it is gone. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
  /** `stop()`, waits `downMs`, `start()`. */
  restart(options?: { downMs?: number }): Promise<void>;
  /** Stops it for good (a container is removed). */
  close(): Promise<void>;
}

export interface TestNatsServerOptions {
  /** More nats-server arguments, e.g. `['--user', 'u', '--pass', 'p']` or `['--auth', 'token']`. */
  args?: string[];
}

/**
 * Starts a NATS server of the caller's own: a `nats-server` child when the binary is found, else a
 * Testcontainers NATS container. Never the shared server on 4222: tests that kill a broker need
 * one nobody else uses. Throws when neither exists (check `natsForTests` first).
 */
export async function startNatsServer(
  options: TestNatsServerOptions = {},
): Promise<TestNatsServer> {
  const found = await natsSource();
  if (found.kind === 'none') throw new Error(`cannot start a NATS server: ${found.reason}`);
  const port = await freePort();
  const args = options.args ?? [];
  const control =
    found.kind === 'binary' ? natsChild(found.binary, port, args) : await natsContainer(port, args);
  await control.start();
  const stop = (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => control.stop(signal);
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    kind: found.kind,
    start: () => control.start(),
    stop,
    async restart({ downMs = 0 } = {}) {
      await stop();
      await pause(downMs);
      await control.start();
    },
    close: () => control.close(),
  };
}

interface ServerControl {
  start(): Promise<void>;
  stop(signal: NodeJS.Signals): Promise<void>;
  close(): Promise<void>;
}

function natsChild(binary: string, port: number, args: string[]): ServerControl {
  let child: ChildProcess | undefined;
  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    const current = child;
    child = undefined;
    if (!current || current.exitCode !== null || current.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => current.once('exit', () => resolve()));
    current.kill(signal);
    await gone;
  };
  return {
    async start() {
      const current = spawn(binary, ['-a', '127.0.0.1', '-p', String(port), ...args], {
        stdio: 'ignore',
      });
      child = current;
      await waitFor(
        `nats-server to listen on ${port}`,
        async () => {
          if (current.exitCode !== null)
            throw new Error(`nats-server exited at start with ${current.exitCode} (port ${port})`);
          return accepts(port);
        },
        15_000,
        20,
      );
    },
    stop,
    close: () => stop('SIGKILL'),
  };
}

/**
 * The NATS module of Testcontainers, with two of its defaults undone: it starts the server with a
 * `test`/`test` user (the caller asks for its own credentials, or none), and it publishes 4222 on a
 * random host port (a restart must keep the port, as clients reconnect to the address they know).
 */
async function natsContainer(port: number, args: string[]): Promise<ServerControl> {
  const { NatsContainer } = await import('@testcontainers/nats');
  const container = new NatsContainer('nats:2.10-alpine').withExposedPorts({
    container: 4222,
    host: port,
  });
  // The module keeps its arguments in private fields; clearing them is the only way to drop the user.
  for (const field of ['args', 'values']) (Reflect.get(container, field) as Set<string>).clear();
  for (let i = 0; i < args.length; i += 2) {
    const [name, value] = [args[i]!, args[i + 1]];
    if (value === undefined || value.startsWith('-')) {
      container.withArg(name);
      i -= 1;
    } else container.withArg(name, value);
  }
  let started: Awaited<ReturnType<typeof container.start>> | undefined;
  let running = false;
  return {
    async start() {
      if (!started) started = await container.start();
      else await started.restart();
      running = true;
      await waitFor(`the NATS container on ${port}`, () => accepts(port), 30_000, 50);
    },
    async stop() {
      // timeout 0: Docker kills the server at once, as SIGKILL does; the container stays for start().
      if (running) await started?.stop({ remove: false, timeout: 0 });
      running = false;
    },
    async close() {
      await started?.stop({ remove: true, timeout: 0 });
      started = undefined;
      running = false;
    },
  };
}

/**
 * For suites that need a broker and nothing more (no restart, no credentials):
 * RUNSTREAM_TEST_NATS_URL when set, else a server of their own from `startNatsServer`.
 */
export async function natsUrlForTests(): Promise<{ url: string; close(): Promise<void> }> {
  const external = process.env.RUNSTREAM_TEST_NATS_URL;
  if (external) return { url: external, close: async () => undefined };
  const server = await startNatsServer();
  return { url: server.url, close: () => server.close() };
}
