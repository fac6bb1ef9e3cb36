export { createRun, type CreateRunDeps, type CreateRunRequest } from './create-run.js';
export {
  createGraphCatalog,
  type CheckedInput,
  type GraphCatalog,
  type GraphCatalogDeps,
  type GraphCatalogOptions,
} from './graph-catalog.js';
export { FIELD_ORDER_KEYWORD } from './field-order-keyword.js';
export { RunInputError, type InputIssue, type RunInputErrorCode } from './errors.js';
