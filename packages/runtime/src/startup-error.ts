/** Why a process could not start. */
export type StartupErrorCode =
  /** A variable's value is malformed or out of its bounds. */
  | 'INVALID_CONFIG'
  /** The port a variable names is held by another program. */
  | 'PORT_IN_USE'
  /** The address a variable names cannot be listened on: it does not resolve, or it is not this machine's. */
  | 'ADDRESS_UNAVAILABLE'
  /** A service a variable points at does not answer. */
  | 'UNREACHABLE';

/**
 * A start-up failure that an operator fixes by changing one variable. `guardStartup` prints it as
 * the single line `VARIABLE: problem` and exits 1, without a stack trace: the trace would only
 * show our own code, and would push the one useful line out of a container's short log view.
 */
export class StartupError extends Error {
  override readonly name = 'StartupError';

  constructor(
    readonly code: StartupErrorCode,
    /** The environment variable to look at. */
    readonly variable: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** `VARIABLE: problem`. */
  toLine(): string {
    return `${this.variable}: ${this.message}`;
  }
}

/**
 * The innermost cause of an error, in one line: that is the part that names what went wrong on the
 * wire (`connect ECONNREFUSED 127.0.0.1:4222`), where the outer errors only say which step failed.
 */
export function reasonOf(error: unknown): string {
  let current = error;
  for (let depth = 0; depth < 10; depth++) {
    // A connect to a name with several addresses fails with one error per address.
    if (current instanceof AggregateError && current.errors.length > 0) current = current.errors[0];
    else if (current instanceof Error && current.cause !== undefined) current = current.cause;
    else break;
  }
  if (!(current instanceof Error)) return oneLine(String(current));
  const code = (current as { code?: unknown }).code;
  return oneLine(current.message) || (typeof code === 'string' ? code : current.name);
}

const oneLine = (text: string): string => text.replace(/\s+/g, ' ').trim();

/** A URL as it may be printed: user and password replaced, so that no credential reaches a log. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (!u.username && !u.password) return url;
    u.username = '***';
    u.password = '';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

/**
 * For `.catch()` on a start-up step that connects to what a variable points at: rethrows the
 * step's failure as a StartupError naming the variable, the target (credentials redacted by the
 * caller) and the reason.
 */
export function unreachable(variable: string, target: string): (cause: unknown) => never {
  return (cause) => {
    throw new StartupError(
      'UNREACHABLE',
      variable,
      `cannot connect to ${target} (${reasonOf(cause)})`,
      { cause },
    );
  };
}

/**
 * What went wrong when a server could not listen, naming the variable to change: a port in use
 * or below 1024 without privileges names the port's variable; an address that does not resolve or
 * is not this machine's names the host's.
 */
export function listenFailure(
  error: unknown,
  target: { host: string; port: number; hostVariable: string; portVariable: string },
): StartupError {
  const { host, port, hostVariable, portVariable } = target;
  const code = (error as { code?: unknown } | undefined)?.code;
  const cause = { cause: error };
  switch (code) {
    case 'EADDRINUSE':
      return new StartupError(
        'PORT_IN_USE',
        portVariable,
        `port ${port} on ${host} is already in use (another program, or another copy of this one, listens there; 0 picks a free port)`,
        cause,
      );
    case 'EACCES':
      return new StartupError(
        'PORT_IN_USE',
        portVariable,
        `no permission to listen on port ${port} (ports below 1024 need privileges)`,
        cause,
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
    case 'EAI_NONAME':
      return new StartupError(
        'ADDRESS_UNAVAILABLE',
        hostVariable,
        `cannot resolve ${host} (${String(code)})`,
        cause,
      );
    case 'EADDRNOTAVAIL':
    case 'EAFNOSUPPORT':
      return new StartupError(
        'ADDRESS_UNAVAILABLE',
        hostVariable,
        `${host} is not an address of this machine (${String(code)})`,
        cause,
      );
    default:
      return new StartupError(
        'ADDRESS_UNAVAILABLE',
        hostVariable,
        `cannot listen on ${host} port ${port}: ${reasonOf(error)}`,
        cause,
      );
  }
}
