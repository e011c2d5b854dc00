// Turns whatever a caller hands the logger into a JSON-safe value, without ever throwing. Log calls sit
// on error paths, so a circular object, a bigint, a getter that throws or a hostile Proxy must become
// text, not a second failure. Pure: value in, plain data out.

const MAX_DEPTH = 6;
const MAX_STRING = 4096; // journald splits lines over LineMax (48 KiB); one field should never get near it
const MAX_ITEMS = 200;
const MAX_BYTES_SHOWN = 64;

export type LogValue = null | boolean | number | string | LogValue[] | { [key: string]: LogValue };

/** A prototype-less object: a field named `__proto__` (JSON.parse makes those) stays a field. */
export function record(): { [key: string]: LogValue } {
  return Object.create(null) as { [key: string]: LogValue };
}

export function truncate(s: string): string {
  return s.length <= MAX_STRING ? s : `${s.slice(0, MAX_STRING)}...(+${s.length - MAX_STRING} chars)`;
}

/** String(x) that cannot throw (a Symbol.toPrimitive or toString can). */
export function safeString(x: unknown): string {
  try {
    return truncate(typeof x === 'string' ? x : String(x));
  } catch (e) {
    return `[unprintable: ${describeThrow(e)}]`;
  }
}

function describeThrow(e: unknown): string {
  try {
    return e instanceof Error ? e.message : typeof e;
  } catch {
    return 'error';
  }
}

/** o[k], or a note when a getter or Proxy trap throws: reading a field must not fail the log call. */
export function readField(o: object, k: string): unknown {
  try {
    return (o as Record<string, unknown>)[k];
  } catch (e) {
    return `[throws: ${describeThrow(e)}]`;
  }
}

/**
 * An Error as the fields operators search for: name, message, then code/errno/syscall (Node and the
 * netlink layer put the kernel's errno there), other own properties (a NetlinkError's extAck), and the
 * cause. The stack only for errors without a code: a typed, expected failure's stack is noise, an
 * untyped one is a bug whose stack is the point.
 */
function errorValue(e: Error, depth: number, seen: Set<object>): LogValue {
  const out = record();
  const get = (k: string): unknown => readField(e, k);
  out.name = safeString(get('name') ?? 'Error');
  out.message = safeString(get('message') ?? '');
  for (const k of ['code', 'errno', 'syscall']) {
    const v = get(k);
    if (v !== undefined) out[k] = toLogValue(v, depth + 1, seen) ?? null;
  }
  let keys: string[] = [];
  try {
    keys = Object.keys(e);
  } catch {
    /* a Proxy may refuse; the fields above are enough */
  }
  for (const k of keys.slice(0, MAX_ITEMS)) {
    if (k in out || k === 'stack' || k === 'cause') continue;
    const v = toLogValue(get(k), depth + 1, seen);
    if (v !== undefined) out[k] = v;
  }
  const cause = get('cause');
  if (cause !== undefined) out.cause = toLogValue(cause, depth + 1, seen) ?? null;
  if (out.code === undefined) {
    const stack = get('stack');
    if (typeof stack === 'string') out.stack = truncate(stack);
  }
  return out;
}

/** JSON-safe copy of `v`; undefined for values JSON would leave out (undefined itself). */
export function toLogValue(v: unknown, depth = 0, seen: Set<object> = new Set()): LogValue | undefined {
  switch (typeof v) {
    case 'string':
      return truncate(v);
    case 'number':
      return Number.isFinite(v) ? v : String(v); // NaN/Infinity are not JSON
    case 'boolean':
      return v;
    case 'bigint':
      return v.toString(); // as text: a 64-bit counter must not lose digits in a double
    case 'undefined':
      return undefined;
    case 'symbol':
      return safeString(v);
    case 'function':
      return `[function ${safeString((v as { name?: unknown }).name || 'anonymous')}]`;
  }
  if (v === null) return null;
  const o = v as object;
  if (seen.has(o)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[too deep]';
  seen.add(o);
  try {
    if (o instanceof Error) return errorValue(o, depth, seen);
    if (o instanceof Date) return Number.isNaN(o.getTime()) ? 'Invalid Date' : o.toISOString();
    if (ArrayBuffer.isView(o)) {
      const bytes = new Uint8Array(o.buffer, o.byteOffset, o.byteLength);
      const hex = Buffer.from(bytes.subarray(0, MAX_BYTES_SHOWN)).toString('hex');
      return bytes.length > MAX_BYTES_SHOWN ? `${hex}...(${bytes.length} bytes)` : hex;
    }
    if (Array.isArray(o)) return listValue(o, depth, seen);
    if (o instanceof Set) return listValue([...o], depth, seen);
    if (o instanceof Map) {
      const out = record();
      let n = 0;
      for (const [k, val] of o) {
        if (n++ >= MAX_ITEMS) break;
        out[safeString(k)] = toLogValue(val, depth + 1, seen) ?? null;
      }
      return out;
    }
    // An object's own toJSON (a Date-like, an address class) says how it wants to be seen.
    const toJSON = (o as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') return toLogValue(toJSON.call(o), depth + 1, seen);
    const out = record();
    const keys = Object.keys(o);
    for (const k of keys.slice(0, MAX_ITEMS)) {
      const lv = toLogValue(readField(o, k), depth + 1, seen);
      if (lv !== undefined) out[k] = lv;
    }
    if (keys.length > MAX_ITEMS) out['...'] = `${keys.length - MAX_ITEMS} more keys`;
    return out;
  } catch (e) {
    return `[unserializable: ${describeThrow(e)}]`;
  } finally {
    // Only cycles are refused; the same object twice side by side is shown twice.
    seen.delete(o);
  }
}

function listValue(items: unknown[], depth: number, seen: Set<object>): LogValue[] {
  const out = items.slice(0, MAX_ITEMS).map((x) => toLogValue(x, depth + 1, seen) ?? null);
  if (items.length > MAX_ITEMS) out.push(`...(${items.length - MAX_ITEMS} more)`);
  return out;
}
