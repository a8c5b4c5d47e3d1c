/**
 * The record frame: how one record is laid out on disk (see docs/log-format.md).
 *
 *   u32 bodyLength | body | u32 crc
 *   body = u8 magic(1) | i64 offset | i64 timestamp | i32 keyLength (-1: null) | key
 *        | i32 valueLength | value | u32 headerCount | { u16 nameLength | name | u32 valueLength | value }*
 *   crc  = CRC32C of bodyLength and body, seeded with FRAME_SEED (see crc32c.ts)
 *
 * All integers little-endian. Every frame carries its own CRC, so any single record can be validated
 * without trusting what precedes it, and a torn write is detectable at record granularity.
 */
import { WeirError } from "../errors.js";
import { FRAME_SEED, crc32c } from "./crc32c.js";
import type { RecordHeader } from "./types.js";

const MAGIC = 1;
/** bodyLength + crc */
const FRAME_OVERHEAD_BYTES = 8;
/** magic + offset + timestamp + keyLength + valueLength + headerCount */
const BODY_FIXED_BYTES = 1 + 8 + 8 + 4 + 4 + 4;
export const MIN_FRAME_BYTES = FRAME_OVERHEAD_BYTES + BODY_FIXED_BYTES;
/** Upper bound of one record's body. Also what keeps a garbage length field from asking for gigabytes. */
const MAX_BODY_BYTES = 64 * 1024 * 1024;

const TWO_32 = 4294967296;

/** Outcomes of looking at a position, besides a frame length (> 0). */
export const FRAME_INCOMPLETE = 0;
export const FRAME_BAD = -1;

/** Where the parts of the last parsed frame are; reused so that parsing allocates nothing. */
export interface FrameFields {
  offset: number;
  timestamp: number;
  keyStart: number;
  /** -1 for a null key. */
  keyLength: number;
  valueStart: number;
  valueLength: number;
  headersStart: number;
  headerCount: number;
  /** Total frame bytes needed, after FRAME_INCOMPLETE. */
  needed: number;
}

export function newFrameFields(): FrameFields {
  return {
    offset: 0,
    timestamp: 0,
    keyStart: 0,
    keyLength: -1,
    valueStart: 0,
    valueLength: 0,
    headersStart: 0,
    headerCount: 0,
    needed: 0,
  };
}

export type RecordBytes = Buffer | string | null | undefined;

/** An upper bound of the frame size of a record, cheap to compute (strings count 3 bytes per UTF-16 unit). */
export function frameSizeBound(
  key: RecordBytes,
  value: Buffer | string,
  headers: readonly RecordHeader[] | undefined,
): number {
  let n = MIN_FRAME_BYTES + bytesBound(key) + bytesBound(value);
  if (headers !== undefined) {
    for (let i = 0; i < headers.length; i++) n += 6 + headers[i].key.length * 3 + headers[i].value.length;
  }
  return n;
}

function bytesBound(b: RecordBytes): number {
  if (b === null || b === undefined) return 0;
  return typeof b === "string" ? b.length * 3 : b.length;
}

/**
 * Encodes one frame at `pos` (the caller guarantees frameSizeBound bytes of room) and returns the
 * position after it.
 */
export function encodeFrame(
  buf: Buffer,
  pos: number,
  offset: number,
  timestamp: number,
  key: RecordBytes,
  value: Buffer | string,
  headers: readonly RecordHeader[] | undefined,
): number {
  const body = pos + 4;
  buf[body] = MAGIC;
  writeInt64(buf, body + 1, offset);
  writeInt64(buf, body + 9, timestamp);
  let p = body + 17;
  if (key === null || key === undefined) {
    buf.writeInt32LE(-1, p);
    p += 4;
  } else {
    p = writeBytes(buf, p, key);
  }
  p = writeBytes(buf, p, value);
  const count = headers === undefined ? 0 : headers.length;
  buf.writeUInt32LE(count, p);
  p += 4;
  for (let i = 0; i < count; i++) {
    const h = headers![i];
    const n = buf.write(h.key, p + 2, "utf8");
    if (n > 0xffff) throw new WeirError("USAGE", `header name too long (${n} bytes; at most 65535)`);
    buf.writeUInt16LE(n, p);
    p = writeBytes(buf, p + 2 + n, h.value);
  }
  const bodyLength = p - body;
  if (bodyLength > MAX_BODY_BYTES) {
    throw new WeirError("USAGE", `record too large: ${bodyLength} bytes (at most ${MAX_BODY_BYTES})`);
  }
  buf.writeUInt32LE(bodyLength, pos);
  buf.writeUInt32LE(crc32c(buf, pos, p, FRAME_SEED), p);
  return p + 4;
}

/** Writes a length and the bytes; strings as UTF-8 straight into buf (no temporary Buffer). */
function writeBytes(buf: Buffer, p: number, b: Buffer | string): number {
  if (typeof b === "string") {
    const n = buf.write(b, p + 4, "utf8");
    buf.writeInt32LE(n, p);
    return p + 4 + n;
  }
  if (!(b instanceof Uint8Array)) {
    throw new WeirError("USAGE", "record keys, values and header values must be Buffers or strings");
  }
  buf.writeInt32LE(b.length, p);
  buf.set(b, p + 4);
  return p + 4 + b.length;
}

/** Little-endian int64 of a safe integer (lo u32, hi i32), without BigInt. */
export function writeInt64(buf: Buffer, p: number, v: number): void {
  const hi = Math.floor(v / TWO_32);
  buf.writeUInt32LE(v - hi * TWO_32, p);
  buf.writeInt32LE(hi, p + 4);
}

export function readInt64(buf: Uint8Array, p: number): number {
  return i32(buf, p + 4) * TWO_32 + u32(buf, p);
}

// Plain byte arithmetic: cheaper than Buffer's read methods on the hot path (no argument checks).
function u32(b: Uint8Array, p: number): number {
  return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
}

function i32(b: Uint8Array, p: number): number {
  return b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24);
}

/**
 * The extent of the frame at buf[pos, end), from its length field alone: its total length,
 * FRAME_INCOMPLETE (f.needed set) when not all of it is there, or FRAME_BAD for an impossible length.
 */
export function frameExtent(buf: Uint8Array, pos: number, end: number, f: FrameFields): number {
  if (end - pos < 4) {
    f.needed = MIN_FRAME_BYTES;
    return FRAME_INCOMPLETE;
  }
  const bodyLength = u32(buf, pos);
  if (bodyLength < BODY_FIXED_BYTES || bodyLength > MAX_BODY_BYTES) return FRAME_BAD;
  const total = bodyLength + FRAME_OVERHEAD_BYTES;
  if (end - pos < total) {
    f.needed = total;
    return FRAME_INCOMPLETE;
  }
  return total;
}

/** Whether the CRC of the (complete) frame at pos matches. */
export function frameCrcOk(buf: Uint8Array, pos: number, total: number): boolean {
  return crc32c(buf, pos, pos + total - 4, FRAME_SEED) === u32(buf, pos + total - 4);
}

/**
 * Reads the fields of a complete frame whose CRC was verified, checking that its inner lengths exactly
 * fill the body (so that neither a writer bug nor a CRC collision can make us slice outside it).
 * Returns `total`, or FRAME_BAD.
 */
export function parseFrame(buf: Uint8Array, pos: number, total: number, f: FrameFields): number {
  const body = pos + 4;
  const bodyEnd = pos + total - 4;
  if (buf[body] !== MAGIC) return FRAME_BAD;
  let p = body + 17;
  const keyLength = i32(buf, p);
  p += 4;
  if (keyLength < -1 || (keyLength > 0 && p + keyLength > bodyEnd)) return FRAME_BAD;
  f.keyStart = p;
  f.keyLength = keyLength;
  if (keyLength > 0) p += keyLength;
  if (p + 4 > bodyEnd) return FRAME_BAD;
  const valueLength = i32(buf, p);
  p += 4;
  if (valueLength < 0 || p + valueLength + 4 > bodyEnd) return FRAME_BAD;
  f.valueStart = p;
  f.valueLength = valueLength;
  p += valueLength;
  const headerCount = u32(buf, p);
  p += 4;
  f.headersStart = p;
  f.headerCount = headerCount;
  for (let i = 0; i < headerCount; i++) {
    if (p + 2 > bodyEnd) return FRAME_BAD;
    p += 2 + (buf[p] | (buf[p + 1] << 8));
    if (p + 4 > bodyEnd) return FRAME_BAD;
    p += 4 + u32(buf, p);
  }
  if (p !== bodyEnd) return FRAME_BAD;
  f.offset = readInt64(buf, body + 1);
  f.timestamp = readInt64(buf, body + 9);
  return total;
}

const NO_HEADERS: readonly RecordHeader[] = Object.freeze([]);

/** The headers of a parsed frame; header values are views into buf. */
export function decodeHeaders(buf: Buffer, f: FrameFields): readonly RecordHeader[] {
  if (f.headerCount === 0) return NO_HEADERS;
  const out: RecordHeader[] = [];
  let p = f.headersStart;
  for (let i = 0; i < f.headerCount; i++) {
    const nameLength = buf.readUInt16LE(p);
    const key = buf.toString("utf8", p + 2, p + 2 + nameLength);
    p += 2 + nameLength;
    const valueLength = buf.readUInt32LE(p);
    out.push({ key, value: buf.subarray(p + 4, p + 4 + valueLength) });
    p += 4 + valueLength;
  }
  return out;
}
