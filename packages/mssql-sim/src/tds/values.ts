/**
 * A5 (MS-TDS 2.2.5.4 / 2.2.5.5): server-to-client TYPE_INFO and value encodings for every `ColumnType` the
 * engine may declare. Each function writes exactly the bytes tedious's metadata and value parsers expect.
 */
import type { ColumnType, SqlValue } from "./engine-port.js";
import { encodeCp1252 } from "./cp1252.js";
import { ValueEncodingError } from "./errors.js";
import { DEFAULT_COLLATION } from "./protocol.js";
import type { ByteWriter } from "./wire.js";

/** A5 TYPE_INFO type bytes. */
export const TypeByte = {
  Guid: 0x24,
  IntN: 0x26,
  DateTime2N: 0x2a,
  Int4: 0x38,
  DateTime: 0x3d,
  Float8: 0x3e,
  SqlVariant: 0x62,
  BitN: 0x68,
  NumericN: 0x6c,
  DateTimeN: 0x6f,
  Bit: 0x32,
  Int8: 0x7f,
  BigVarBinary: 0xa5,
  BigVarChar: 0xa7,
  NVarChar: 0xe7,
  Xml: 0xf1,
} as const;

/** A5: USHORT maximum length 0xFFFF marks a (max) type whose values are PLP. */
const MAX_LENGTH_MARKER = 0xffff;
/** A5: USHORT length 0xFFFF is NULL for non-max character and binary values. */
const NULL_USHORT_LENGTH = 0xffff;
/** 2.2.5.2.3 PLP: total length 0xFFFFFFFFFFFFFFFF is NULL. */
const PLP_NULL = 0xffffffffffffffffn;
/** PLP chunks are bounded so no single chunk length needs more than a ULONG. */
const PLP_CHUNK_BYTES = 0x10000;
/** A5: sql_variant maximum length (8000 bytes of data + 16 of type information). */
const SQL_VARIANT_MAX_LENGTH = 8016;

const MS_PER_DAY = 86_400_000;
/** 1900-01-01T00:00:00Z, the DATETIME epoch. */
const DATETIME_EPOCH_MS = Date.UTC(1900, 0, 1);
/** 0001-01-01T00:00:00Z, the DATETIME2 epoch (Date.UTC maps years < 100 to 19xx, so set it explicitly). */
const DATETIME2_EPOCH_MS = new Date(0).setUTCFullYear(1, 0, 1);
/** DATETIME counts time of day in 1/300 s ticks. */
const DATETIME_TICKS_PER_DAY = 300 * 86_400;

export function validateColumnType(type: ColumnType, columnName: string): void {
  const fail = (why: string): never => {
    throw new ValueEncodingError(`column "${columnName}": ${why}`);
  };
  switch (type.kind) {
    case "nvarchar":
      if (type.length !== "max" && !(Number.isInteger(type.length) && type.length >= 1 && type.length <= 4000)) {
        fail(`nvarchar length ${type.length} is not 1..4000 or "max"`);
      }
      return;
    case "varchar":
    case "varbinary":
      if (type.length !== "max" && !(Number.isInteger(type.length) && type.length >= 1 && type.length <= 8000)) {
        fail(`${type.kind} length ${type.length} is not 1..8000 or "max"`);
      }
      return;
    case "datetime2":
      if (!(Number.isInteger(type.scale) && type.scale >= 0 && type.scale <= 7)) fail(`datetime2 scale ${type.scale} is not 0..7`);
      return;
    case "numeric":
      if (!(Number.isInteger(type.precision) && type.precision >= 1 && type.precision <= 38)) {
        fail(`numeric precision ${type.precision} is not 1..38`);
      }
      if (!(Number.isInteger(type.scale) && type.scale >= 0 && type.scale <= type.precision)) {
        fail(`numeric scale ${type.scale} is not 0..precision`);
      }
      return;
    default:
      return;
  }
}

/** A5 column "TYPE_INFO in COLMETADATA". */
export function writeTypeInfo(out: ByteWriter, type: ColumnType): void {
  switch (type.kind) {
    case "nvarchar":
      out.u8(TypeByte.NVarChar).u16le(type.length === "max" ? MAX_LENGTH_MARKER : type.length * 2).bytes(DEFAULT_COLLATION);
      return;
    case "varchar":
      out.u8(TypeByte.BigVarChar).u16le(type.length === "max" ? MAX_LENGTH_MARKER : type.length).bytes(DEFAULT_COLLATION);
      return;
    case "tinyint":
      out.u8(TypeByte.IntN).u8(1);
      return;
    case "smallint":
      out.u8(TypeByte.IntN).u8(2);
      return;
    case "int":
      out.u8(TypeByte.IntN).u8(4);
      return;
    case "bigint":
      out.u8(TypeByte.IntN).u8(8);
      return;
    case "bit":
      out.u8(TypeByte.BitN).u8(1);
      return;
    case "datetime":
      out.u8(TypeByte.DateTimeN).u8(8);
      return;
    case "datetime2":
      out.u8(TypeByte.DateTime2N).u8(type.scale);
      return;
    case "uniqueidentifier":
      out.u8(TypeByte.Guid).u8(16);
      return;
    case "varbinary":
      out.u8(TypeByte.BigVarBinary).u16le(type.length === "max" ? MAX_LENGTH_MARKER : type.length);
      return;
    case "numeric":
      out.u8(TypeByte.NumericN).u8(numericStorageLength(type.precision)).u8(type.precision).u8(type.scale);
      return;
    case "xml":
      out.u8(TypeByte.Xml).u8(0); // no schema collection
      return;
    case "sql_variant":
      out.u8(TypeByte.SqlVariant).u32le(SQL_VARIANT_MAX_LENGTH);
      return;
  }
}

/** A5 column "ROW value". `columnName` only labels errors. */
export function writeValue(out: ByteWriter, type: ColumnType, value: SqlValue, columnName: string): void {
  const fail = (why: string): never => {
    throw new ValueEncodingError(`column "${columnName}" (${type.kind}): ${why}`);
  };
  switch (type.kind) {
    case "nvarchar": {
      if (value === null) {
        if (type.length === "max") out.u64le(PLP_NULL);
        else out.u16le(NULL_USHORT_LENGTH);
        return;
      }
      const text = characterValue(value, fail);
      if (type.length === "max") {
        writePlp(out, Buffer.from(text, "utf16le"));
        return;
      }
      if (text.length > type.length) fail(`${text.length} characters exceed nvarchar(${type.length})`);
      out.u16le(text.length * 2).ucs2(text);
      return;
    }
    case "varchar": {
      if (value === null) {
        if (type.length === "max") out.u64le(PLP_NULL);
        else out.u16le(NULL_USHORT_LENGTH);
        return;
      }
      const bytes = encodeCp1252(characterValue(value, fail));
      if (type.length === "max") {
        writePlp(out, bytes);
        return;
      }
      if (bytes.length > type.length) fail(`${bytes.length} bytes exceed varchar(${type.length})`);
      out.u16le(bytes.length).bytes(bytes);
      return;
    }
    case "tinyint":
    case "smallint":
    case "int":
    case "bigint": {
      if (value === null) {
        out.u8(0);
        return;
      }
      const integer = integerValue(value, fail);
      const [byteCount, min, max] = INTEGER_RANGES[type.kind];
      if (integer < min || integer > max) fail(`${integer} is outside ${type.kind} range`);
      out.u8(byteCount);
      if (type.kind === "tinyint") out.u8(Number(integer));
      else if (type.kind === "smallint") out.u16le(Number(integer) & 0xffff);
      else if (type.kind === "int") out.i32le(Number(integer));
      else out.i64le(integer);
      return;
    }
    case "bit": {
      if (value === null) {
        out.u8(0);
        return;
      }
      if (typeof value !== "boolean" && value !== 0 && value !== 1) fail(`expected boolean, 0 or 1, got ${describe(value)}`);
      out.u8(1).u8(value === true || value === 1 ? 1 : 0);
      return;
    }
    case "datetime": {
      if (value === null) {
        out.u8(0);
        return;
      }
      const { days, ticks } = toDateTimeParts(dateValue(value, fail));
      out.u8(8).i32le(days).u32le(ticks);
      return;
    }
    case "datetime2": {
      if (value === null) {
        out.u8(0);
        return;
      }
      const timeBytes = type.scale <= 2 ? 3 : type.scale <= 4 ? 4 : 5;
      const { days, timeUnits } = toDateTime2Parts(dateValue(value, fail), type.scale);
      if (days < 0 || days > 3_652_058) fail("date outside 0001-01-01..9999-12-31");
      out.u8(timeBytes + 3).uintLe(timeUnits, timeBytes).uintLe(BigInt(days), 3);
      return;
    }
    case "uniqueidentifier": {
      if (value === null) {
        out.u8(0);
        return;
      }
      if (typeof value !== "string") fail(`expected a GUID string, got ${describe(value)}`);
      out.u8(16).bytes(guidToWire(value as string, fail));
      return;
    }
    case "varbinary": {
      if (value === null) {
        if (type.length === "max") out.u64le(PLP_NULL);
        else out.u16le(NULL_USHORT_LENGTH);
        return;
      }
      if (!Buffer.isBuffer(value)) fail(`expected a Buffer, got ${describe(value)}`);
      const bytes = value as Buffer;
      if (type.length === "max") {
        writePlp(out, bytes);
        return;
      }
      if (bytes.length > type.length) fail(`${bytes.length} bytes exceed varbinary(${type.length})`);
      out.u16le(bytes.length).bytes(bytes);
      return;
    }
    case "numeric": {
      if (value === null) {
        out.u8(0);
        return;
      }
      const scaled = toScaledInteger(value, type.scale, fail);
      const magnitude = scaled < 0n ? -scaled : scaled;
      if (magnitude >= 10n ** BigInt(type.precision)) fail(`${describe(value)} does not fit numeric(${type.precision},${type.scale})`);
      const storage = numericStorageLength(type.precision);
      out.u8(storage).u8(scaled < 0n ? 0 : 1).uintLe(magnitude, storage - 1);
      return;
    }
    case "xml": {
      if (value === null) {
        out.u64le(PLP_NULL);
        return;
      }
      if (typeof value !== "string") fail(`expected an XML string, got ${describe(value)}`);
      writePlp(out, Buffer.from(value as string, "utf16le"));
      return;
    }
    case "sql_variant":
      writeSqlVariant(out, value, fail);
      return;
  }
}

const INTEGER_RANGES = {
  tinyint: [1, 0n, 255n],
  smallint: [2, -32768n, 32767n],
  int: [4, -2147483648n, 2147483647n],
  bigint: [8, -9223372036854775808n, 9223372036854775807n],
} as const;

/** A5 NUMERICN: storage bytes (sign byte included) by precision. */
export function numericStorageLength(precision: number): number {
  if (precision <= 9) return 5;
  if (precision <= 19) return 9;
  if (precision <= 28) return 13;
  return 17;
}

/** 2.2.5.2.3 PLP: ULONGLONG total length, chunks of ULONG length + bytes, ULONG 0 terminator. */
function writePlp(out: ByteWriter, data: Buffer): void {
  out.u64le(BigInt(data.length));
  for (let offset = 0; offset < data.length; offset += PLP_CHUNK_BYTES) {
    const chunk = data.subarray(offset, offset + PLP_CHUNK_BYTES);
    out.u32le(chunk.length).bytes(chunk);
  }
  out.u32le(0);
}

/**
 * A5 sql_variant: ULONG total length (0 = NULL), BYTE base type, BYTE property bytes, properties, data. The
 * engine hands plain JS values; we pick the base type SQL Server would report for them (SERVERPROPERTY
 * returns int and nvarchar variants).
 */
function writeSqlVariant(out: ByteWriter, value: SqlValue, fail: (why: string) => never): void {
  if (value === null) {
    out.u32le(0);
    return;
  }
  if (typeof value === "boolean") {
    out.u32le(3).u8(TypeByte.Bit).u8(0).u8(value ? 1 : 0);
  } else if (typeof value === "number" && Number.isInteger(value) && value >= -2147483648 && value <= 2147483647) {
    out.u32le(6).u8(TypeByte.Int4).u8(0).i32le(value);
  } else if (typeof value === "number") {
    out.u32le(10).u8(TypeByte.Float8).u8(0).f64le(value);
  } else if (typeof value === "bigint") {
    out.u32le(10).u8(TypeByte.Int8).u8(0).i64le(value);
  } else if (typeof value === "string") {
    if (value.length > 4000) fail(`a ${value.length}-character string does not fit a sql_variant`);
    const byteLength = value.length * 2;
    out.u32le(2 + 7 + byteLength).u8(TypeByte.NVarChar).u8(7).u16le(Math.max(byteLength, 2)).bytes(DEFAULT_COLLATION).ucs2(value);
  } else if (value instanceof Date) {
    const { days, ticks } = toDateTimeParts(value);
    out.u32le(10).u8(TypeByte.DateTime).u8(0).i32le(days).u32le(ticks);
  } else {
    if (value.length > 8000) fail(`a ${value.length}-byte binary does not fit a sql_variant`);
    out.u32le(2 + 2 + value.length).u8(TypeByte.BigVarBinary).u8(2).u16le(Math.max(value.length, 1)).bytes(value);
  }
}

function characterValue(value: Exclude<SqlValue, null>, fail: (why: string) => never): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  return fail(`expected a string, got ${describe(value)}`);
}

function integerValue(value: Exclude<SqlValue, null>, fail: (why: string) => never): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "number" && Number.isInteger(value)) return BigInt(value);
  if (typeof value === "boolean") return value ? 1n : 0n;
  if (typeof value === "string" && /^[+-]?\d+$/.test(value)) return BigInt(value);
  return fail(`expected an integer, got ${describe(value)}`);
}

function dateValue(value: Exclude<SqlValue, null>, fail: (why: string) => never): Date {
  if (value instanceof Date && !Number.isNaN(value.getTime())) return value;
  return fail(`expected a valid Date, got ${describe(value)}`);
}

/** A5 DATETIME: INT32 days since 1900-01-01 and UINT32 1/300-second ticks since midnight (UTC). */
export function toDateTimeParts(date: Date): { days: number; ticks: number } {
  const sinceEpochMs = date.getTime() - DATETIME_EPOCH_MS;
  let days = Math.floor(sinceEpochMs / MS_PER_DAY);
  let ticks = Math.round(((sinceEpochMs - days * MS_PER_DAY) * 300) / 1000);
  if (ticks >= DATETIME_TICKS_PER_DAY) {
    days += 1;
    ticks -= DATETIME_TICKS_PER_DAY;
  }
  return { days, ticks };
}

/** A5 DATETIME2(s): time of day in 10^-s second units and days since 0001-01-01 (UTC). */
export function toDateTime2Parts(date: Date, scale: number): { days: number; timeUnits: bigint } {
  const sinceEpochMs = date.getTime() - DATETIME2_EPOCH_MS;
  let days = Math.floor(sinceEpochMs / MS_PER_DAY);
  const msOfDay = sinceEpochMs - days * MS_PER_DAY;
  let timeUnits = scale >= 3 ? BigInt(msOfDay) * 10n ** BigInt(scale - 3) : BigInt(Math.round(msOfDay / 10 ** (3 - scale)));
  const unitsPerDay = 86_400n * 10n ** BigInt(scale);
  if (timeUnits >= unitsPerDay) {
    days += 1;
    timeUnits -= unitsPerDay;
  }
  return { days, timeUnits };
}

const GUID_PATTERN = /^\{?([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})\}?$/i;

/** A5 uniqueidentifier: Data1 (4), Data2 (2) and Data3 (2) little-endian, Data4 (8) as written. */
export function guidToWire(guid: string, fail: (why: string) => never): Buffer {
  const match = GUID_PATTERN.exec(guid);
  if (match === null) return fail(`"${guid}" is not a GUID`);
  const bytes = Buffer.from(match.slice(1).join(""), "hex");
  bytes.subarray(0, 4).reverse();
  bytes.subarray(4, 6).reverse();
  bytes.subarray(6, 8).reverse();
  return bytes;
}

/** The inverse of `guidToWire`, upper-case as SQL Server and tedious print GUIDs. */
export function guidFromWire(bytes: Buffer): string {
  const copy = Buffer.from(bytes);
  copy.subarray(0, 4).reverse();
  copy.subarray(4, 6).reverse();
  copy.subarray(6, 8).reverse();
  const hex = copy.toString("hex").toUpperCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** numeric(p,s) values travel as an integer scaled by 10^s; rounds half away from zero like CAST. */
export function toScaledInteger(value: Exclude<SqlValue, null>, scale: number, fail: (why: string) => never): bigint {
  const factor = 10n ** BigInt(scale);
  if (typeof value === "bigint") return value * factor;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return fail(`${value} is not a finite number`);
    if (Number.isInteger(value) && Number.isSafeInteger(value)) return BigInt(value) * factor;
    return toScaledInteger(value.toFixed(Math.min(scale + 1, 100)), scale, fail);
  }
  if (typeof value !== "string") return fail(`expected a number, bigint or decimal string, got ${describe(value)}`);
  const match = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(value.trim());
  if (match === null || (match[2] === "" && (match[3] ?? "") === "")) return fail(`"${value}" is not a decimal number`);
  const negative = match[1] === "-";
  const whole = match[2] === "" ? "0" : (match[2] as string);
  const fraction = match[3] ?? "";
  let scaled = BigInt(whole + fraction.slice(0, scale).padEnd(scale, "0"));
  const firstDropped = fraction.charCodeAt(scale);
  if (!Number.isNaN(firstDropped) && firstDropped >= 0x35 /* '5' */) scaled += 1n;
  return negative ? -scaled : scaled;
}

function describe(value: SqlValue): string {
  if (value === null) return "null";
  if (Buffer.isBuffer(value)) return `Buffer(${value.length})`;
  if (value instanceof Date) return `Date(${value.toISOString()})`;
  return `${typeof value} ${String(value).slice(0, 40)}`;
}
