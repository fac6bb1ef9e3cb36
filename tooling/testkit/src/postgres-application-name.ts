/**
 * The `application_name` of a PostgreSQL connection, read from its startup message (the first
 * bytes a client sends: int32 length, int32 protocol version 3.0, then key\0value\0 pairs), for
 * `TcpProxyOptions.label`. Undefined for anything else (an SSL request, a partial message).
 */
export function postgresApplicationName(firstChunk: Buffer): string | undefined {
  if (firstChunk.length < 8 || firstChunk.readInt32BE(4) !== 0x30000) return undefined;
  const end = Math.min(firstChunk.length, firstChunk.readInt32BE(0));
  const fields = firstChunk.toString('utf8', 8, end).split('\0');
  for (let i = 0; i + 1 < fields.length; i += 2)
    if (fields[i] === 'application_name') return fields[i + 1];
  return undefined;
}
