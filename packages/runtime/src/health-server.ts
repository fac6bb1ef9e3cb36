import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import { listenFailure } from './startup-error.js';
import { type Dependency, probe } from './wait-for-dependency.js';

/** What /metrics serves; a prom-client `Registry` fits. */
export interface MetricsSource {
  readonly contentType: string;
  metrics(): Promise<string>;
}

export interface HealthServerOptions {
  /** Listen address. */
  host: string;
  /** Listen port; 0 picks a free one, which `port` on the result tells. */
  port: number;
  /** The variable that sets `host`: a failure to listen names the variable to change. */
  hostVariable: string;
  /** The variable that sets `port`. */
  portVariable: string;
  /** What /readyz checks: the process is ready when every one answers within `readyTimeoutMs`. */
  dependencies: readonly Dependency[];
  /**
   * How long /readyz waits for each dependency. Below the usual probe timeouts (Kubernetes: 1 s by
   * default, so set its timeoutSeconds above this), so that the probe gets an answer, not a timeout.
   * @default 2000
   */
  readyTimeoutMs?: number;
  metrics: MetricsSource;
}

export interface HealthServer {
  /** The port it listens on (the picked one when asked for 0). */
  readonly port: number;
  /** Stops listening and ends open connections (a scraper's keep-alive would hold the close). */
  close(): Promise<void>;
}

/**
 * The small HTTP endpoint of a worker process, on a port of its own: `/healthz` is 200 while the
 * process lives (a liveness probe: restart when it stops answering), `/readyz` is 200 when every
 * dependency answers within the deadline and 503 otherwise, with each one's state (a readiness
 * probe: alert, do not restart), and `/metrics` is the Prometheus text exposition.
 *
 * Resolves once it listens; rejects with a StartupError naming `portVariable` or `hostVariable`
 * when it cannot.
 */
export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const readyTimeoutMs = options.readyTimeoutMs ?? 2000;

  const send = (res: ServerResponse, status: number, type: string, body: string): void => {
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
  };

  const readiness = async (): Promise<{ ready: boolean; checks: Record<string, string> }> => {
    const results = await Promise.all(
      options.dependencies.map(async (dependency) => {
        const ok = await probe(dependency, readyTimeoutMs).then(
          () => true,
          () => false,
        );
        return [dependency.name, ok ? 'ok' : 'down'] as const;
      }),
    );
    return {
      ready: results.every(([, state]) => state === 'ok'),
      checks: Object.fromEntries(results),
    };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      send(res, 405, 'text/plain', 'method not allowed\n');
      return;
    }
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      send(res, 200, 'application/json', '{"status":"ok"}\n');
    } else if (path === '/readyz') {
      const { ready, checks } = await readiness();
      const body = JSON.stringify({ status: ready ? 'ready' : 'unavailable', checks });
      send(res, ready ? 200 : 503, 'application/json', `${body}\n`);
    } else if (path === '/metrics') {
      send(res, 200, options.metrics.contentType, await options.metrics.metrics());
    } else {
      send(res, 404, 'text/plain', 'not found\n');
    }
  };

  const server = createServer(
    // A scraper that sends its request slowly must not hold a socket for ever.
    { requestTimeout: 10_000, headersTimeout: 10_000 },
    (req, res) => {
      handle(req, res).catch(() => {
        if (!res.headersSent) send(res, 500, 'text/plain', 'internal error\n');
        else res.destroy();
      });
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) =>
      reject(
        listenFailure(error, {
          host: options.host,
          port: options.port,
          hostVariable: options.hostVariable,
          portVariable: options.portVariable,
        }),
      ),
    );
    server.listen(options.port, options.host, () => resolve());
  });

  let closed: Promise<void> | undefined;
  return {
    port: (server.address() as AddressInfo).port,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
