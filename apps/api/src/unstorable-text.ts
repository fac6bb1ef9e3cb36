/**
 * U+0000, or a UTF-16 surrogate without its other half. PostgreSQL's text and jsonb cannot hold
 * either (SQLSTATE 22021, 22P05), and the driver's UTF-8 encoding turns a lone surrogate into
 * U+FFFD, so two different strings would be stored as one (two idempotency keys colliding).
 */
// eslint-disable-next-line no-control-regex -- U+0000 is exactly what this must find
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Whether PostgreSQL can store this string exactly as it is. */
function isStorableText(text: string): boolean {
  return !UNSTORABLE.test(text);
}

/**
 * The path of the first string (or object key) in a parsed request part that PostgreSQL cannot
 * store, as `root.a.0.b`; undefined when everything fits. The walk uses its own stack: a body may
 * nest ten thousand levels deep and still be valid JSON, which recursion would not survive.
 */
export function findUnstorableText(value: unknown, root: string): string | undefined {
  const stack: { value: unknown; path: string }[] = [{ value, path: root }];
  while (stack.length > 0) {
    const { value: current, path } = stack.pop()!;
    if (typeof current === 'string') {
      if (!isStorableText(current)) return path;
    } else if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--)
        stack.push({ value: current[i], path: `${path}.${i}` });
    } else if (current !== null && typeof current === 'object') {
      const entries = Object.entries(current);
      // A bad key is reported at its object: the key itself cannot be shown as it is.
      if (entries.some(([key]) => !isStorableText(key))) return path;
      for (let i = entries.length - 1; i >= 0; i--)
        stack.push({ value: entries[i]![1], path: `${path}.${entries[i]![0]}` });
    }
  }
  return undefined;
}
