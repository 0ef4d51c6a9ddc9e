/**
 * A4 (MS-TDS 2.2.7.x): server-to-client token encoders. Each appends one complete token to a ByteWriter, so a
 * response buffer only ever holds whole tokens (which lets ATTENTION end a message at any token boundary, A9).
 */
import type { Column, SqlValue } from "./engine-port.js";
import { ValueEncodingError } from "./errors.js";
import { TokenType } from "./protocol.js";
import { validateColumnType, writeTypeInfo, writeValue } from "./values.js";
import type { ByteWriter } from "./wire.js";

/** Writes a token whose body is preceded by a USHORT length (ENVCHANGE, ERROR, INFO, LOGINACK). */
function withLength(out: ByteWriter, tokenType: number, body: () => void): void {
  out.u8(tokenType);
  const lengthOffset = out.length;
  out.u16le(0);
  body();
  const bodyLength = out.length - lengthOffset - 2;
  if (bodyLength > 0xffff) throw new RangeError(`token 0x${tokenType.toString(16)} body is ${bodyLength} bytes`);
  out.patchU16le(lengthOffset, bodyLength);
}

/** A4 LOGINACK (2.2.7.14): interface 1 (SQL_TSQL), TDS version as bytes 74 00 00 04, program name, version. */
export function writeLoginAck(out: ByteWriter, version: { major: number; minor: number; build: number }): void {
  withLength(out, TokenType.LoginAck, () => {
    out.u8(1).u32be(0x74000004).bVarchar("Microsoft SQL Server");
    out.u8(version.major).u8(version.minor).u8((version.build >> 8) & 0xff).u8(version.build & 0xff);
  });
}

/** A4 ENVCHANGE (2.2.7.9) with B_VARCHAR values: database, language, packet size. */
export function writeEnvChangeText(out: ByteWriter, type: number, newValue: string, oldValue: string): void {
  withLength(out, TokenType.EnvChange, () => {
    out.u8(type).bVarchar(newValue).bVarchar(oldValue);
  });
}

/** A4 ENVCHANGE with B_VARBYTE values: collation, reset connection. */
export function writeEnvChangeBytes(out: ByteWriter, type: number, newValue: Uint8Array, oldValue: Uint8Array): void {
  withLength(out, TokenType.EnvChange, () => {
    out.u8(type).bVarbyte(newValue).bVarbyte(oldValue);
  });
}

export interface ServerMessage {
  number: number;
  state: number;
  severity: number;
  message: string;
  serverName: string;
  procName?: string;
  lineNumber?: number;
}

/** A4 ERROR (2.2.7.10) / INFO (2.2.7.13): same layout, different token byte. */
export function writeServerMessage(out: ByteWriter, tokenType: typeof TokenType.Error | typeof TokenType.Info, message: ServerMessage): void {
  withLength(out, tokenType, () => {
    out.i32le(message.number).u8(message.state).u8(message.severity);
    out.usVarchar(message.message.slice(0, 4000));
    out.bVarchar(message.serverName.slice(0, 128));
    out.bVarchar((message.procName ?? "").slice(0, 128));
    out.i32le(message.lineNumber ?? 1);
  });
}

/** A4 DONE / DONEPROC / DONEINPROC (2.2.7.6-8): USHORT status, USHORT curCmd, ULONGLONG rowCount. */
export function writeDone(
  out: ByteWriter,
  tokenType: typeof TokenType.Done | typeof TokenType.DoneProc | typeof TokenType.DoneInProc,
  status: number,
  rowCount = 0,
  currentCommand = 0,
): void {
  out.u8(tokenType).u16le(status).u16le(currentCommand).u64le(BigInt(rowCount));
}

/** A4 RETURNSTATUS (2.2.7.18). */
export function writeReturnStatus(out: ByteWriter, value: number): void {
  out.u8(TokenType.ReturnStatus).i32le(value);
}

/** A4 FEATUREEXTACK: (id, DWORD length, data)…, 0xFF. */
export function writeFeatureExtAck(out: ByteWriter, features: Array<{ id: number; data: Uint8Array }>): void {
  out.u8(TokenType.FeatureExtAck);
  for (const feature of features) out.u8(feature.id).u32le(feature.data.length).bytes(feature.data);
  out.u8(0xff);
}

/** COLMETADATA flags: fNullable. */
const COLUMN_FLAG_NULLABLE = 0x0001;

/** A4 COLMETADATA (2.2.7.4): USHORT count, then per column userType, flags, TYPE_INFO, B_VARCHAR name. */
export function writeColMetadata(out: ByteWriter, columns: readonly Column[]): void {
  if (columns.length === 0 || columns.length > 4096) {
    throw new ValueEncodingError(`a result set needs 1..4096 columns, got ${columns.length}`);
  }
  out.u8(TokenType.ColMetadata).u16le(columns.length);
  for (const column of columns) {
    validateColumnType(column.type, column.name);
    out.u32le(0).u16le(column.nullable === false ? 0 : COLUMN_FLAG_NULLABLE);
    writeTypeInfo(out, column.type);
    out.bVarchar(column.name);
  }
}

/** A4 ROW (2.2.7.20): values in column order. */
export function writeRow(out: ByteWriter, columns: readonly Column[], row: readonly SqlValue[]): void {
  if (row.length !== columns.length) {
    throw new ValueEncodingError(`row has ${row.length} values for ${columns.length} columns`);
  }
  out.u8(TokenType.Row);
  for (let i = 0; i < columns.length; i++) {
    const column = columns[i] as Column;
    const value = row[i] as SqlValue;
    if (value === null && column.nullable === false) {
      throw new ValueEncodingError(`column "${column.name}" is declared NOT NULL but the row holds NULL`);
    }
    writeValue(out, column.type, value, column.name);
  }
}
