// PostgreSQL's binary format of a one-dimensional text[] without NULLs (array_send / array_recv).
const HEADER_BYTES = 20;
const TEXT_OID = 25;

/**
 * A `text[]` query parameter in binary form. node-postgres sends a Buffer parameter as binary, so the server
 * reads each element by its length. A JS array would be turned into an array literal instead: pg escapes every
 * quote and backslash and concatenates the elements into one string (80 ms for 5 MB of chat messages, against
 * 7 ms here), and the server scans it back character by character. Use it where the SQL casts the parameter to
 * `text[]`.
 */
export function binaryTextArray(values: readonly string[]): Buffer {
  if (values.length === 0) {
    // No dimensions: the empty array.
    const empty = Buffer.alloc(12);
    empty.writeInt32BE(TEXT_OID, 8);
    return empty;
  }
  let size = HEADER_BYTES;
  const lengths = values.map((value) => {
    const bytes = Buffer.byteLength(value, 'utf8');
    size += 4 + bytes;
    return bytes;
  });
  const out = Buffer.allocUnsafe(size);
  out.writeInt32BE(1, 0); // dimensions
  out.writeInt32BE(0, 4); // no NULL element
  out.writeInt32BE(TEXT_OID, 8);
  out.writeInt32BE(values.length, 12);
  out.writeInt32BE(1, 16); // lower bound
  let at = HEADER_BYTES;
  values.forEach((value, i) => {
    at = out.writeInt32BE(lengths[i]!, at);
    at += out.write(value, at, 'utf8');
  });
  return out;
}
