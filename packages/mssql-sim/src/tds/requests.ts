/**
 * A6 (MS-TDS 2.2.6.6 RPC Request, 2.2.6.7 SQL Batch, 2.2.5.3 ALL_HEADERS): client request payloads, and the
 * TYPE_INFO/value shapes of every RPC parameter type tedious sends (A6 table) plus a few cheap extras.
 */
import type { RpcParameter, SqlValue } from "./engine-port.js";
import { decodeCp1252 } from "./cp1252.js";
import { NotModelledError, TdsProtocolError } from "./errors.js";
import { WELL_KNOWN_PROC_NAMES } from "./protocol.js";
import { guidFromWire } from "./values.js";
import { ByteReader } from "./wire.js";

/** A6 ALL_HEADERS: a DWORD total length (itself included) followed by the headers; we only skip them. */
function skipAllHeaders(reader: ByteReader): void {
  const totalLength = reader.u32le();
  if (totalLength < 4 || totalLength - 4 > reader.remaining) {
    throw new TdsProtocolError(`ALL_HEADERS total length ${totalLength} does not fit the request`);
  }
  reader.skip(totalLength - 4);
}

/** A6 SQL_BATCH: ALL_HEADERS, then UCS-2 text up to the end of the message. */
export function parseSqlBatch(payload: Buffer): string {
  const reader = new ByteReader(payload, 0, "SQL_BATCH");
  skipAllHeaders(reader);
  if (reader.remaining % 2 !== 0) throw new TdsProtocolError("SQL_BATCH text has an odd number of bytes");
  return reader.ucs2(reader.remaining / 2);
}

export interface RpcRequest {
  procName: string;
  /** Set when the client used the ProcID form (A6: execSql sends ProcID 10). */
  procId?: number;
  parameters: RpcParameter[];
}

/** MS-TDS 2.2.6.6: ProcID form marker in NameLenProcID. */
const PROC_ID_MARKER = 0xffff;
/** MS-TDS 2.2.6.6: bytes that separate batched RPCs (BatchFlag 0xFF in 7.2+, 0x80 before, NoExec 0xFE). */
const RPC_BATCH_SEPARATORS = new Set([0x80, 0xfe, 0xff]);
/** MS-TDS 2.2.6.6 StatusFlags: fByRefValue (an OUTPUT parameter). */
const PARAMETER_STATUS_OUTPUT = 0x01;

export function parseRpcRequest(payload: Buffer): RpcRequest {
  const reader = new ByteReader(payload, 0, "RPC request");
  skipAllHeaders(reader);
  const nameLength = reader.u16le();
  let procName: string;
  let procId: number | undefined;
  if (nameLength === PROC_ID_MARKER) {
    procId = reader.u16le();
    const wellKnown = WELL_KNOWN_PROC_NAMES.get(procId);
    if (wellKnown === undefined) throw new NotModelledError(`RPC ProcID ${procId}`);
    procName = wellKnown;
  } else {
    procName = reader.ucs2(nameLength);
  }
  reader.u16le(); // OptionFlags: WITH RECOMPILE / no metadata hints, irrelevant to a model

  const parameters: RpcParameter[] = [];
  while (reader.remaining > 0) {
    if (RPC_BATCH_SEPARATORS.has(reader.peekU8())) {
      throw new NotModelledError("several RPCs batched into one request");
    }
    const name = reader.bVarchar();
    const status = reader.u8();
    const { typeName, value } = readParameterValue(reader, name);
    parameters.push({ name, value, output: (status & PARAMETER_STATUS_OUTPUT) !== 0, typeName });
  }
  const result: RpcRequest = { procName, parameters };
  if (procId !== undefined) result.procId = procId;
  return result;
}

const PLP_NULL = 0xffffffffffffffffn;
const PLP_UNKNOWN_LENGTH = 0xfffffffffffffffen;
const MAX_LENGTH_MARKER = 0xffff;
const NULL_USHORT_LENGTH = 0xffff;
const MS_PER_DAY = 86_400_000;
const DATETIME_EPOCH_MS = Date.UTC(1900, 0, 1);
const DATETIME2_EPOCH_MS = new Date(0).setUTCFullYear(1, 0, 1);

interface DecodedParameter {
  typeName: string;
  value: SqlValue;
}

/** One parameter's TYPE_INFO and value (MS-TDS 2.2.5.4 / 2.2.5.5, A6 table). */
function readParameterValue(reader: ByteReader, parameterName: string): DecodedParameter {
  const typeByte = reader.u8();
  switch (typeByte) {
    case 0x26: {
      // INTN: BYTE max length (1/2/4/8), value BYTE length (0 = NULL) + LE integer
      const maxLength = reader.u8();
      const typeName = INTN_NAMES.get(maxLength);
      if (typeName === undefined) throw new TdsProtocolError(`INTN length ${maxLength} for ${parameterName}`);
      const length = reader.u8();
      return { typeName, value: length === 0 ? null : readInteger(reader, length, parameterName) };
    }
    case 0x30:
      return { typeName: "tinyint", value: reader.u8() };
    case 0x34:
      return { typeName: "smallint", value: reader.i16le() };
    case 0x38:
      return { typeName: "int", value: reader.i32le() };
    case 0x7f:
      return { typeName: "bigint", value: reader.i64le() };
    case 0x32:
      return { typeName: "bit", value: reader.u8() !== 0 };
    case 0x68: {
      // BITN
      reader.u8();
      const length = reader.u8();
      return { typeName: "bit", value: length === 0 ? null : reader.u8() !== 0 };
    }
    case 0x6d: {
      // FLTN: 4 = real, 8 = float
      const maxLength = reader.u8();
      const length = reader.u8();
      const typeName = maxLength === 4 ? "real" : "float";
      if (length === 0) return { typeName, value: null };
      return { typeName, value: length === 4 ? reader.f32le() : reader.f64le() };
    }
    case 0x3b:
      return { typeName: "real", value: reader.f32le() };
    case 0x3e:
      return { typeName: "float", value: reader.f64le() };
    case 0x6a:
    case 0x6c: {
      // DECIMALN / NUMERICN: BYTE storage, BYTE precision, BYTE scale; value BYTE length, sign, LE magnitude
      reader.u8();
      reader.u8();
      const scale = reader.u8();
      const typeName = typeByte === 0x6c ? "numeric" : "decimal";
      const length = reader.u8();
      if (length === 0) return { typeName, value: null };
      const positive = reader.u8() === 1;
      return { typeName, value: formatScaled(reader.uintLe(length - 1), scale, positive) };
    }
    case 0x2a: {
      // DATETIME2N: BYTE scale; value BYTE length, time (length-3 bytes), 3-byte days since 0001-01-01
      const scale = reader.u8();
      const length = reader.u8();
      if (length === 0) return { typeName: "datetime2", value: null };
      const timeUnits = reader.uintLe(length - 3);
      const days = Number(reader.uintLe(3));
      const msOfDay = scale >= 3 ? Number(timeUnits / 10n ** BigInt(scale - 3)) : Number(timeUnits) * 10 ** (3 - scale);
      return { typeName: "datetime2", value: new Date(DATETIME2_EPOCH_MS + days * MS_PER_DAY + msOfDay) };
    }
    case 0x28: {
      // DATEN
      const length = reader.u8();
      if (length === 0) return { typeName: "date", value: null };
      return { typeName: "date", value: new Date(DATETIME2_EPOCH_MS + Number(reader.uintLe(3)) * MS_PER_DAY) };
    }
    case 0x6f: {
      // DATETIMN: 4 = smalldatetime, 8 = datetime
      reader.u8();
      const length = reader.u8();
      if (length === 0) return { typeName: "datetime", value: null };
      if (length === 4) return { typeName: "smalldatetime", value: readSmallDateTime(reader) };
      return { typeName: "datetime", value: readDateTime(reader) };
    }
    case 0x3d:
      return { typeName: "datetime", value: readDateTime(reader) };
    case 0x3a:
      return { typeName: "smalldatetime", value: readSmallDateTime(reader) };
    case 0x24: {
      // GUID
      reader.u8();
      const length = reader.u8();
      if (length === 0) return { typeName: "uniqueidentifier", value: null };
      if (length !== 16) throw new TdsProtocolError(`uniqueidentifier value of ${length} bytes for ${parameterName}`);
      return { typeName: "uniqueidentifier", value: guidFromWire(reader.bytes(16)) };
    }
    case 0xe7:
    case 0xef: {
      // NVARCHAR / NCHAR: USHORT max bytes (0xFFFF = max, PLP), 5-byte collation
      const typeName = typeByte === 0xe7 ? "nvarchar" : "nchar";
      const bytes = readVariableBytes(reader);
      return { typeName, value: bytes === null ? null : bytes.toString("utf16le") };
    }
    case 0xa7:
    case 0xaf: {
      // BIGVARCHAR / BIGCHAR in the collation's code page (we announce CP1252 in ENVCHANGE 7)
      const typeName = typeByte === 0xa7 ? "varchar" : "char";
      const bytes = readVariableBytes(reader);
      return { typeName, value: bytes === null ? null : decodeCp1252(bytes) };
    }
    case 0xa5:
    case 0xad: {
      // BIGVARBINARY / BIGBINARY
      const typeName = typeByte === 0xa5 ? "varbinary" : "binary";
      const maxLength = reader.u16le();
      const bytes = maxLength === MAX_LENGTH_MARKER ? readPlp(reader) : readUShortLengthBytes(reader);
      return { typeName, value: bytes === null ? null : Buffer.from(bytes) };
    }
    default:
      throw new NotModelledError(`RPC parameter type 0x${typeByte.toString(16).padStart(2, "0")} (${parameterName || "unnamed parameter"})`);
  }
}

const INTN_NAMES: ReadonlyMap<number, string> = new Map([
  [1, "tinyint"],
  [2, "smallint"],
  [4, "int"],
  [8, "bigint"],
]);

/** INTN(8) values become bigint so no precision is lost; smaller ones are numbers. */
function readInteger(reader: ByteReader, length: number, parameterName: string): number | bigint {
  switch (length) {
    case 1:
      return reader.u8();
    case 2:
      return reader.i16le();
    case 4:
      return reader.i32le();
    case 8:
      return reader.i64le();
    default:
      throw new TdsProtocolError(`INTN value of ${length} bytes for ${parameterName}`);
  }
}

/** Character types: USHORT max length, collation, then either a USHORT-length value or PLP. */
function readVariableBytes(reader: ByteReader): Buffer | null {
  const maxLength = reader.u16le();
  reader.skip(5); // collation: tedious echoes the one from ENVCHANGE 7
  return maxLength === MAX_LENGTH_MARKER ? readPlp(reader) : readUShortLengthBytes(reader);
}

function readUShortLengthBytes(reader: ByteReader): Buffer | null {
  const length = reader.u16le();
  return length === NULL_USHORT_LENGTH ? null : reader.bytes(length);
}

/** 2.2.5.2.3 PLP; tedious sends nvarchar(max) parameters with an unknown total length (A6). */
function readPlp(reader: ByteReader): Buffer | null {
  const totalLength = reader.u64le();
  if (totalLength === PLP_NULL) return null;
  const chunks: Buffer[] = [];
  let received = 0;
  for (;;) {
    const chunkLength = reader.u32le();
    if (chunkLength === 0) break;
    const chunk = reader.bytes(chunkLength);
    chunks.push(chunk);
    received += chunk.length;
  }
  if (totalLength !== PLP_UNKNOWN_LENGTH && BigInt(received) !== totalLength) {
    throw new TdsProtocolError(`PLP value declared ${totalLength} bytes but carried ${received}`);
  }
  return Buffer.concat(chunks, received);
}

function readDateTime(reader: ByteReader): Date {
  const days = reader.i32le();
  const ticks = reader.u32le();
  return new Date(DATETIME_EPOCH_MS + days * MS_PER_DAY + Math.round((ticks * 1000) / 300));
}

function readSmallDateTime(reader: ByteReader): Date {
  const days = reader.u16le();
  const minutes = reader.u16le();
  return new Date(DATETIME_EPOCH_MS + days * MS_PER_DAY + minutes * 60_000);
}

/** Exact decimal text for a NUMERIC/DECIMAL parameter (JS numbers would lose digits beyond 2^53). */
function formatScaled(magnitude: bigint, scale: number, positive: boolean): string {
  const digits = magnitude.toString().padStart(scale + 1, "0");
  const whole = digits.slice(0, digits.length - scale);
  const fraction = digits.slice(digits.length - scale);
  const text = scale > 0 ? `${whole}.${fraction}` : whole;
  return positive || magnitude === 0n ? text : `-${text}`;
}
