/** Why a run request was refused before anything was written. */
export type RunInputErrorCode = 'UNKNOWN_GRAPH' | 'INVALID_INPUT';

/** One problem with a run request, at a path from the request body: `['graph']`, `['input', 'text']`. */
export interface InputIssue {
  path: (string | number)[];
  message: string;
  /** The JSON Schema keyword that failed (`required`, `maxLength`, ...), or `unknown_graph`. */
  code: string;
}

/**
 * A run request names a graph no worker ever registered, or its input does not fit the JSON
 * Schema of the graph's newest registration. `details` lists the issues, each naming its field.
 */
export class RunInputError extends Error {
  override readonly name = 'RunInputError';

  constructor(
    readonly code: RunInputErrorCode,
    message: string,
    readonly details: readonly InputIssue[],
  ) {
    super(message);
  }
}
