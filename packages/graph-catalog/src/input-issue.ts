import type { ErrorObject } from 'ajv/dist/2020.js';

import type { InputIssue } from './errors.js';

/** An Ajv error as an issue at a path from the request body, naming the field at fault. */
export function inputIssue(error: ErrorObject): InputIssue {
  const path: (string | number)[] = [
    'input',
    ...error.instancePath
      .split('/')
      .slice(1)
      .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
      .map((part) => (/^(0|[1-9][0-9]*)$/.test(part) ? Number(part) : part)),
  ];
  const params = error.params as Record<string, unknown>;
  if (error.keyword === 'required' && typeof params.missingProperty === 'string')
    return { path: [...path, params.missingProperty], message: 'is required', code: 'required' };
  const unknown = params.additionalProperty ?? params.unevaluatedProperty;
  if (typeof unknown === 'string')
    return {
      path: [...path, unknown],
      message: 'is not a field of this input',
      code: error.keyword,
    };
  return { path, message: error.message ?? 'is invalid', code: error.keyword };
}
