/**
 * What JSON.stringify writes for the two things PostgreSQL's jsonb refuses: U+0000 (`\u0000`,
 * SQLSTATE 22P05) and a lone UTF-16 surrogate (`\ud800`..`\udfff`, 22P02). A well-formed pair is
 * written as the character itself, so an escape of this shape is either a lone surrogate, or text
 * that spells such an escape after an escaped backslash (a false alarm the walk below settles).
 */
const SUSPECT = /\\u(?:0000|d[89a-f][0-9a-f]{2})/i;

/**
 * `JSON.stringify(value)`, with U+0000 and lone surrogates in every string (keys too) replaced by
 * U+FFFD, so that PostgreSQL accepts it as jsonb. A model's output can hold either (a NUL byte, an
 * emoji cut in half between two deltas); one such character must not fail a whole run. The check
 * on the serialized text is one regular-expression scan; the walk and the second serialization
 * happen only when it fires.
 */
export function toStorableJson(value: unknown): string {
  const json = JSON.stringify(value);
  if (json === undefined || !SUSPECT.test(json)) return json;
  return JSON.stringify(storable(value));
}

/** A copy of a JSON value with every string made storable; the value itself is left alone. */
function storable(value: unknown): unknown {
  if (typeof value === 'string') return storableString(value);
  if (Array.isArray(value)) return value.map(storable);
  if (value === null || typeof value !== 'object') return value;
  // What JSON.stringify would write for it (a Date, or anything else with toJSON).
  const json = (value as { toJSON?: () => unknown }).toJSON;
  if (typeof json === 'function') return storable(json.call(value));
  // No prototype, so that a key named `__proto__` stays a key.
  const out = Object.create(null) as Record<string, unknown>;
  for (const [key, inner] of Object.entries(value)) out[storableString(key)] = storable(inner);
  return out;
}

/** U+0000, a high surrogate not followed by a low one, or a low one not preceded by a high one. */
// eslint-disable-next-line no-control-regex -- U+0000 is exactly what must be found
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function storableString(text: string): string {
  return text.replace(UNSTORABLE, '\uFFFD');
}
