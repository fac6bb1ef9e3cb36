import type { Bus, BusLogger } from './bus.js';
import { createMemoryBus } from './memory-bus.js';
import { type NatsCredentials, createNatsBus } from './nats-bus.js';
import type { SigningKey } from './message-codec.js';
import { createPostgresBus } from './postgres-bus.js';

/** The bus to use, as the runtime package's `busConfig` parses RUNSTREAM_BUS. */
export type BusConfig =
  | { kind: 'postgres' }
  | { kind: 'nats'; url: string; credentials?: NatsCredentials }
  | { kind: 'memory' };

export interface BusDeps {
  /** The application database (DATABASE_URL); the postgres bus runs on it. */
  databaseUrl: string;
  logger?: BusLogger;
  /** Names the process's connections in pg_stat_activity and on the NATS server. @default 'runstream-bus' */
  name?: string;
  /**
   * The deployment's bus signing key, from persistence's `loadBusSigningKey` (ADR 0012). The
   * postgres and NATS buses sign what they publish and deliver a received event only when it
   * verifies (else as a pointer: subscribers read the database). Without it they send and
   * deliver pointers only. A function is asked at each message, so that a process may open its
   * bus before it can read the key. The memory bus never leaves the process and ignores it.
   */
  signingKey?: SigningKey;
}

/** Opens the bus the configuration names. Rejects with BUS_UNAVAILABLE when NATS cannot be reached. */
export async function createBus(config: BusConfig, deps: BusDeps): Promise<Bus> {
  switch (config.kind) {
    case 'postgres':
      return createPostgresBus({
        url: deps.databaseUrl,
        logger: deps.logger,
        applicationName: deps.name,
        signingKey: deps.signingKey,
      });
    case 'nats':
      return createNatsBus({
        url: config.url,
        credentials: config.credentials,
        logger: deps.logger,
        name: deps.name,
        signingKey: deps.signingKey,
      });
    case 'memory':
      return createMemoryBus();
  }
}
