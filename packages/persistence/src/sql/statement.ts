/**
 * One SQL statement, as the repositories run it: its text, the name it is prepared under on each
 * connection, and (for the compiler only) the types of its parameters and of its rows. Every
 * statement of this package is one of these, in a file of src/sql/ named for what it does, with
 * the invariant it keeps written beside it.
 */
export interface Statement<Params extends readonly unknown[], Row> {
  /** The prepared statement's name; unique in the package (a connection prepares it once). */
  readonly name: string;
  readonly text: string;
  /** Never set: carries the parameter and row types from the definition to `query`. */
  readonly types?: { params: Params; row: Row };
}

/**
 * Declares a statement. The name is prefixed with `runstream_`, so that a connection shared with
 * other code (a pooler, an operator's session) never mistakes one of ours for its own.
 */
export function statement<Params extends readonly unknown[], Row = never>(
  name: string,
  text: string,
): Statement<Params, Row> {
  return { name: `runstream_${name}`, text };
}
