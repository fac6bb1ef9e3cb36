import type { GraphRegistryRepo, RegisteredGraph } from '@runstream/persistence';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

import { RunInputError } from './errors.js';
import { fieldOrderKeyword } from './field-order-keyword.js';
import { inputIssue } from './input-issue.js';

/** A run's input after the check: the version it fits, and the input with the schema's defaults. */
export interface CheckedInput {
  graph: string;
  version: string;
  input: Record<string, unknown>;
}

export interface GraphCatalogDeps {
  /** Where the workers' registrations are read. */
  registry: Pick<GraphRegistryRepo, 'list' | 'get'>;
  /** Told when a background refresh fails (the poll tries again). */
  logger?: { warn(fields: object, message: string): void };
}

export interface GraphCatalogOptions {
  /**
   * How often the catalog re-reads the registry by itself, besides `refresh()` (which the api
   * calls on each NOTIFY): a lost notification, and a version whose workers stopped vouching for
   * it, show within this long.
   * @default 5000
   */
  refreshMs?: number;
  /**
   * At most this many issues are reported for one input.
   * @default 20
   */
  maxIssues?: number;
}

/** The graphs the workers registered, with a cached validator of each one's newest version. */
export interface GraphCatalog {
  /**
   * Checks a run's input against the newest registration of its graph. A graph this catalog does
   * not know is read from the registry once before it is refused, so a registration that committed
   * a moment ago is never refused because its NOTIFY is still on its way. An absent input is `{}`.
   * Throws RunInputError `UNKNOWN_GRAPH` or `INVALID_INPUT`.
   */
  check(graph: string, input: unknown): Promise<CheckedInput>;
  /** The newest registration of each graph, read from the registry now. */
  list(): Promise<RegisteredGraph[]>;
  /** Re-reads the registry; concurrent calls share one read. */
  refresh(): Promise<void>;
  /** Starts the periodic refresh (the first one at once). */
  start(): void;
  /** Stops it. */
  close(): void;
}

interface Entry {
  registration: RegisteredGraph;
  /** Undefined when the registered schema does not compile; `problem` says why. */
  validate: ValidateFunction | undefined;
  problem?: string;
}

/**
 * The api's view of the graph registry. It holds no graph code: each graph is its registered JSON
 * Schema, compiled once per version with Ajv and kept until a newer registration replaces it.
 */
export function createGraphCatalog(
  deps: GraphCatalogDeps,
  options: GraphCatalogOptions = {},
): GraphCatalog {
  const refreshMs = options.refreshMs ?? 5000;
  const maxIssues = options.maxIssues ?? 20;
  // useDefaults: the stored input carries the defaults the graph declares, so a run shows the
  // input it ran with. unicodeRegExp off: zod writes `pattern`s as JavaScript regexps without the
  // u flag, and must be read the same way. strict off: schemas come from other teams' workers, and
  // a keyword Ajv does not know must not make a graph unusable.
  const ajv = new Ajv2020({
    allErrors: true,
    useDefaults: true,
    strict: false,
    unicodeRegExp: false,
  });
  addFormats.default(ajv);
  // Rules across fields that JSON Schema cannot say (ADR 0021).
  ajv.addKeyword(fieldOrderKeyword);
  // Ajv's first compile costs some 30 ms (its code generation warming up), later ones about 1 ms:
  // pay it now, not in the request that first names a graph registered a moment ago.
  ajv.compile({ type: 'object', properties: { warm: { type: 'string', minLength: 1 } } });
  const validators = new Map<string, ValidateFunction>();
  let graphs = new Map<string, Entry>();
  let reading: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;

  // A schema Ajv cannot compile (a worker of another team registered something odd) disables that
  // graph version only: its runs are refused as a server fault, every other graph goes on.
  const entryOf = (registration: RegisteredGraph): Entry => {
    const key = `${registration.name}\u0000${registration.version}`;
    let validate = validators.get(key);
    if (!validate) {
      try {
        validate = ajv.compile(registration.inputSchema);
      } catch (error) {
        const problem = error instanceof Error ? error.message : String(error);
        deps.logger?.warn(
          { graph: registration.name, version: registration.version, problem },
          'a registered input schema does not compile: runs of this graph version are refused',
        );
        return { registration, validate: undefined, problem };
      }
      validators.set(key, validate);
    }
    return { registration, validate };
  };

  const refresh = (): Promise<void> => {
    reading ??= (async () => {
      const next = new Map<string, Entry>();
      for (const registration of await deps.registry.list()) {
        next.set(registration.name, entryOf(registration));
      }
      graphs = next;
    })().finally(() => (reading = undefined));
    return reading;
  };

  const schedule = (): void => {
    timer = setTimeout(() => {
      refresh()
        .catch((error: unknown) =>
          deps.logger?.warn({ err: error }, 'could not re-read the graph registry'),
        )
        .finally(() => {
          if (timer !== undefined) schedule();
        });
    }, refreshMs);
    timer.unref();
  };

  return {
    async check(graph, input) {
      let entry = graphs.get(graph);
      if (!entry) {
        const registration = await deps.registry.get(graph);
        if (registration) {
          entry = entryOf(registration);
          graphs.set(graph, entry);
        }
      }
      if (!entry) {
        const message = `unknown graph "${graph}": no worker has registered it`;
        throw new RunInputError('UNKNOWN_GRAPH', message, [
          { path: ['graph'], message, code: 'unknown_graph' },
        ]);
      }
      const { validate } = entry;
      if (!validate) {
        throw new Error(
          `graph "${graph}" (version ${entry.registration.version}) has an input schema that does not compile: ${entry.problem}`,
        );
      }
      // Ajv writes defaults into what it checks: check a copy, never the caller's object.
      const candidate: unknown = input === undefined ? {} : structuredClone(input);
      if (!validate(candidate)) {
        const issues = (validate.errors ?? []).slice(0, maxIssues).map(inputIssue);
        const first = issues[0];
        const message = first
          ? `${first.path.join('.')}: ${first.message}`
          : `input does not fit graph "${graph}"`;
        throw new RunInputError('INVALID_INPUT', message, issues);
      }
      return {
        graph,
        version: entry.registration.version,
        input: candidate as Record<string, unknown>,
      };
    },
    list: () => deps.registry.list(),
    refresh,
    start() {
      if (timer !== undefined) return;
      refresh().catch((error: unknown) =>
        deps.logger?.warn({ err: error }, 'could not read the graph registry'),
      );
      schedule();
    },
    close() {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
