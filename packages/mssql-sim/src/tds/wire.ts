/**
 * Byte-level helpers. TDS integers are little-endian except the packet header and PRELOGIN option table (A1,
 * A2), which are big-endian; the method names say which.
 */
import { TdsProtocolError } from "./errors.js";

/** An append-only buffer that grows as needed. */
export class ByteWriter {
  private buffer: Buffer;
  private used = 0;

  constructor(initialCapacity = 256) {
    this.buffer = Buffer.allocUnsafe(initialCapacity);
  }

  get length(): number {
    return this.used;
  }

  /** Makes room and returns where to write. Call it before reading `this.buffer`, which it may replace. */
  private reserve(byteCount: number): number {
    const start = this.used;
    const needed = start + byteCount;
    if (needed > this.buffer.length) {
      let capacity = this.buffer.length * 2;
      while (capacity < needed) capacity *= 2;
      const grown = Buffer.allocUnsafe(capacity);
      this.buffer.copy(grown, 0, 0, start);
      this.buffer = grown;
    }
    this.used = needed;
    return start;
  }

  u8(value: number): this {
    const offset = this.reserve(1);
    this.buffer[offset] = value & 0xff;
    return this;
  }

  u16le(value: number): this {
    const offset = this.reserve(2);
    this.buffer.writeUInt16LE(value, offset);
    return this;
  }

  u16be(value: number): this {
    const offset = this.reserve(2);
    this.buffer.writeUInt16BE(value, offset);
    return this;
  }

  i32le(value: number): this {
    const offset = this.reserve(4);
    this.buffer.writeInt32LE(value, offset);
    return this;
  }

  u32le(value: number): this {
    const offset = this.reserve(4);
    this.buffer.writeUInt32LE(value, offset);
    return this;
  }

  u32be(value: number): this {
    const offset = this.reserve(4);
    this.buffer.writeUInt32BE(value, offset);
    return this;
  }

  i64le(value: bigint): this {
    const offset = this.reserve(8);
    this.buffer.writeBigInt64LE(value, offset);
    return this;
  }

  u64le(value: bigint): this {
    const offset = this.reserve(8);
    this.buffer.writeBigUInt64LE(value, offset);
    return this;
  }

  f64le(value: number): this {
    const offset = this.reserve(8);
    this.buffer.writeDoubleLE(value, offset);
    return this;
  }

  /** Unsigned little-endian integer of `byteCount` bytes (up to 16), for NUMERIC magnitudes and DATETIME2. */
  uintLe(value: bigint, byteCount: number): this {
    const start = this.reserve(byteCount);
    let rest = value;
    for (let i = 0; i < byteCount; i++) {
      this.buffer[start + i] = Number(rest & 0xffn);
      rest >>= 8n;
    }
    return this;
  }

  bytes(data: Uint8Array): this {
    const start = this.reserve(data.length);
    this.buffer.set(data, start);
    return this;
  }

  /** UCS-2 (UTF-16LE) text without a length prefix. */
  ucs2(text: string): this {
    const byteLength = text.length * 2;
    const start = this.reserve(byteLength);
    this.buffer.write(text, start, byteLength, "utf16le");
    return this;
  }

  /** A4 B_VARCHAR: BYTE character count + UCS-2. */
  bVarchar(text: string): this {
    if (text.length > 0xff) throw new RangeError(`B_VARCHAR longer than 255 characters (${text.length})`);
    return this.u8(text.length).ucs2(text);
  }

  /** A4 US_VARCHAR: USHORT character count + UCS-2. */
  usVarchar(text: string): this {
    if (text.length > 0xffff) throw new RangeError(`US_VARCHAR longer than 65535 characters (${text.length})`);
    return this.u16le(text.length).ucs2(text);
  }

  /** A4 B_VARBYTE: BYTE length + bytes. */
  bVarbyte(data: Uint8Array): this {
    if (data.length > 0xff) throw new RangeError(`B_VARBYTE longer than 255 bytes (${data.length})`);
    return this.u8(data.length).bytes(data);
  }

  /** Overwrites a USHORT written earlier (token lengths known only after the body). */
  patchU16le(offset: number, value: number): void {
    this.buffer.writeUInt16LE(value, offset);
  }

  /** A copy-free view of what was written; valid until the next write. */
  view(): Buffer {
    return this.buffer.subarray(0, this.used);
  }

  /** A copy of what was written. */
  toBuffer(): Buffer {
    return Buffer.from(this.view());
  }

  clear(): void {
    this.used = 0;
  }
}

/** A bounds-checked cursor over a received payload; running past the end is a protocol error. */
export class ByteReader {
  constructor(
    readonly buffer: Buffer,
    public offset = 0,
    private readonly what = "message",
  ) {}

  get remaining(): number {
    return this.buffer.length - this.offset;
  }

  private take(byteCount: number): number {
    if (byteCount < 0 || this.offset + byteCount > this.buffer.length) {
      throw new TdsProtocolError(
        `${this.what} is truncated: needed ${byteCount} bytes at offset ${this.offset}, ${this.remaining} left`,
      );
    }
    const start = this.offset;
    this.offset += byteCount;
    return start;
  }

  u8(): number {
    return this.buffer[this.take(1)] as number;
  }

  peekU8(): number {
    if (this.remaining < 1) throw new TdsProtocolError(`${this.what} is truncated at offset ${this.offset}`);
    return this.buffer[this.offset] as number;
  }

  u16le(): number {
    return this.buffer.readUInt16LE(this.take(2));
  }

  u16be(): number {
    return this.buffer.readUInt16BE(this.take(2));
  }

  i16le(): number {
    return this.buffer.readInt16LE(this.take(2));
  }

  u32le(): number {
    return this.buffer.readUInt32LE(this.take(4));
  }

  i32le(): number {
    return this.buffer.readInt32LE(this.take(4));
  }

  i64le(): bigint {
    return this.buffer.readBigInt64LE(this.take(8));
  }

  u64le(): bigint {
    return this.buffer.readBigUInt64LE(this.take(8));
  }

  f32le(): number {
    return this.buffer.readFloatLE(this.take(4));
  }

  f64le(): number {
    return this.buffer.readDoubleLE(this.take(8));
  }

  /** Unsigned little-endian integer of any byte count. */
  uintLe(byteCount: number): bigint {
    const start = this.take(byteCount);
    let value = 0n;
    for (let i = byteCount - 1; i >= 0; i--) value = (value << 8n) | BigInt(this.buffer[start + i] as number);
    return value;
  }

  bytes(byteCount: number): Buffer {
    const start = this.take(byteCount);
    return this.buffer.subarray(start, start + byteCount);
  }

  ucs2(charCount: number): string {
    return this.bytes(charCount * 2).toString("utf16le");
  }

  bVarchar(): string {
    return this.ucs2(this.u8());
  }

  skip(byteCount: number): void {
    this.take(byteCount);
  }
}
