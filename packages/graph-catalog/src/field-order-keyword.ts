import type { ErrorObject, KeywordDefinition } from 'ajv/dist/2020.js';
import type { DataValidationCxt } from 'ajv/dist/types/index.js';

/**
 * `x-runstream-le`: numeric fields of one object that must not exceed another field of it, as pairs
 * `[field, bound]` (e.g. synthetic's `[["failAt", "events"]]`: failAt <= events).
 *
 * JSON Schema has no way to compare two fields. Without this keyword such a rule lives only in the
 * graph's zod refinement, which the worker checks after the run was created; with it the api refuses
 * the input at the door (400, no run), as the contract wants for an input that does not fit. It is an
 * `x-` annotation, so the registered schema stays valid JSON Schema that any other validator reads
 * (ignoring the rule); graphs declare it with zod's `.meta({ 'x-runstream-le': [...] })` next to
 * the refinement that the worker still checks (ADR 0021).
 */
export const FIELD_ORDER_KEYWORD = 'x-runstream-le';

type Pairs = readonly (readonly [string, string])[];

interface Validate {
  (pairs: Pairs, data: unknown, parentSchema?: unknown, context?: DataValidationCxt): boolean;
  errors?: Partial<ErrorObject>[];
}

const validate: Validate = (pairs, data, _parentSchema, context) => {
  validate.errors = [];
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return true;
  const fields = data as Record<string, unknown>;
  for (const [field, bound] of pairs) {
    const value = fields[field];
    const limit = fields[bound];
    if (typeof value !== 'number' || typeof limit !== 'number' || value <= limit) continue;
    validate.errors.push({
      keyword: FIELD_ORDER_KEYWORD,
      // The object's own path (where the keyword sits), then the field at fault.
      instancePath: `${context?.instancePath ?? ''}/${field.replaceAll('~', '~0').replaceAll('/', '~1')}`,
      params: { field, bound, limit },
      message: `must be at most ${bound} (${limit})`,
    });
  }
  return validate.errors.length === 0;
};

export const fieldOrderKeyword: KeywordDefinition = {
  keyword: FIELD_ORDER_KEYWORD,
  type: 'object',
  schemaType: 'array',
  metaSchema: {
    type: 'array',
    items: { type: 'array', items: { type: 'string' }, minItems: 2, maxItems: 2 },
  },
  errors: true,
  validate,
};
