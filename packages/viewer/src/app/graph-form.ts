/**
 * The run form's view of a graph's input JSON Schema (as GET /v1/graphs gives it). The check itself
 * is the api's: the viewer runs under a CSP without 'unsafe-eval', so it cannot compile schemas as
 * a validator does, and a second validator in the page could disagree with the one that decides.
 * The form describes the fields, proposes an input, and shows the api's verdict at each field.
 */

/** A JSON Schema, as far as the form reads one. */
interface InputSchema {
  type?: unknown;
  properties?: Record<string, InputSchema>;
  required?: unknown;
  default?: unknown;
  description?: unknown;
  minimum?: unknown;
  maximum?: unknown;
  minLength?: unknown;
  maxLength?: unknown;
  enum?: unknown;
}

/** One top-level field of an input, for the form's field list. */
export interface FieldRow {
  name: string;
  type: string;
  required: boolean;
  /** Bounds, default, allowed values, and the schema's description, in words. */
  detail: string;
}

const asSchema = (value: unknown): InputSchema =>
  value !== null && typeof value === 'object' ? value : {};

/**
 * The top-level fields of an object schema, required ones first, each group by name (the registry
 * stores schemas as jsonb, which keeps no key order).
 */
export function describeFields(schema: unknown): FieldRow[] {
  const root = asSchema(schema);
  const required = new Set(Array.isArray(root.required) ? root.required.map(String) : []);
  const rows = Object.entries(root.properties ?? {}).map(([name, raw]) => {
    const field = asSchema(raw);
    const parts: string[] = [];
    const range = (lo: unknown, hi: unknown, unit: string): void => {
      if (typeof lo === 'number' && typeof hi === 'number') parts.push(`${lo}..${hi}${unit}`);
      else if (typeof lo === 'number') parts.push(`≥ ${lo}${unit}`);
      else if (typeof hi === 'number') parts.push(`≤ ${hi}${unit}`);
    };
    range(field.minimum, field.maximum, '');
    range(field.minLength, field.maxLength, ' chars');
    if (Array.isArray(field.enum))
      parts.push(`one of ${field.enum.map((v) => JSON.stringify(v)).join(', ')}`);
    if (field.default !== undefined) parts.push(`default ${JSON.stringify(field.default)}`);
    if (typeof field.description === 'string') parts.push(field.description);
    return {
      name,
      type:
        typeof field.type === 'string'
          ? field.type
          : Array.isArray(field.type)
            ? field.type.join(' | ')
            : 'any',
      required: required.has(name),
      detail: parts.join('; '),
    };
  });
  return rows.sort((a, b) => Number(b.required) - Number(a.required) || (a.name < b.name ? -1 : 1));
}

/**
 * An input to start from: each required field with its default, or a value of its type within
 * its bounds. Optional fields are left out (their defaults apply).
 */
export function exampleInput(schema: unknown): Record<string, unknown> {
  const root = asSchema(schema);
  const required = new Set(Array.isArray(root.required) ? root.required.map(String) : []);
  const input: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(root.properties ?? {})) {
    if (!required.has(name)) continue;
    const field = asSchema(raw);
    if (field.default !== undefined) input[name] = field.default;
    else if (Array.isArray(field.enum) && field.enum.length > 0) input[name] = field.enum[0];
    else if (field.type === 'integer' || field.type === 'number')
      input[name] = typeof field.minimum === 'number' ? Math.max(field.minimum, 1) : 1;
    else if (field.type === 'string') input[name] = 'hello';
    else if (field.type === 'boolean') input[name] = false;
    else if (field.type === 'array') input[name] = [];
    else input[name] = {};
  }
  return input;
}

/** What the form shows for a refused input: each issue's field (`input.events`) and message. */
export interface FieldFault {
  /** The top-level input field at fault, or undefined when the issue is about the input as a whole. */
  field: string | undefined;
  /** `input.events: must be >= 1` */
  text: string;
}

/**
 * The faults of an INVALID_INPUT answer (its `details`: issues with paths from the request body),
 * or of a JSON text that does not parse into an object; empty when the text is an object.
 */
export function faultsOf(details: unknown): FieldFault[] {
  if (!Array.isArray(details)) return [];
  return details.flatMap((issue): FieldFault[] => {
    const { path, message } = asIssue(issue);
    if (!path) return [];
    const field = path[0] === 'input' && path.length > 1 ? String(path[1]) : undefined;
    return [{ field, text: `${path.join('.')}: ${message ?? 'is invalid'}` }];
  });
}

function asIssue(value: unknown): { path?: unknown[]; message?: string } {
  if (value === null || typeof value !== 'object') return {};
  const { path, message } = value as { path?: unknown; message?: unknown };
  return {
    ...(Array.isArray(path) ? { path } : {}),
    ...(typeof message === 'string' ? { message } : {}),
  };
}

/** Parses the form's JSON text into an input object, or says what is wrong with it. */
export function parseInputText(
  text: string,
): { ok: true; input: Record<string, unknown> } | { ok: false; fault: string } {
  let value: unknown;
  try {
    value = text.trim() === '' ? {} : JSON.parse(text);
  } catch (error) {
    return {
      ok: false,
      fault: `input: not JSON (${error instanceof Error ? error.message : String(error)})`,
    };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return { ok: false, fault: 'input: must be a JSON object, {...}' };
  return { ok: true, input: value as Record<string, unknown> };
}
