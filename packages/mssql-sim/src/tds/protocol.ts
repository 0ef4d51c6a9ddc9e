/**
 * TDS 7.4 constants used by the simulator's server side. Values are from MS-TDS; section numbers refer to
 * `/work/shared/reference/tds-and-sqlserver.md` Part A (A1…A9) and to the MS-TDS sections cited there.
 */

/** A1 / MS-TDS 2.2.3.1.1: packet types. */
export const PacketType = {
  SqlBatch: 0x01,
  Rpc: 0x03,
  TabularResult: 0x04,
  Attention: 0x06,
  BulkLoad: 0x07,
  FedAuthToken: 0x08,
  TransactionManager: 0x0e,
  Login7: 0x10,
  Sspi: 0x11,
  PreLogin: 0x12,
} as const;

/** A1 / MS-TDS 2.2.3.1.2: packet status bits. */
export const PacketStatus = {
  Normal: 0x00,
  EndOfMessage: 0x01,
  Ignore: 0x02,
  ResetConnection: 0x08,
  ResetConnectionSkipTransaction: 0x10,
} as const;

export const PACKET_HEADER_LENGTH = 8;
/** A1: the Length field is a USHORT, so no packet can exceed this. */
export const MAX_PACKET_LENGTH = 0xffff;
/** A1: what tedious asks for in LOGIN7 and what we negotiate by default. */
export const DEFAULT_PACKET_SIZE = 4096;
/** MS-TDS 2.2.6.4: the PacketSize a client may request lies in this range. */
export const MIN_NEGOTIABLE_PACKET_SIZE = 512;
export const MAX_NEGOTIABLE_PACKET_SIZE = 32767;

/** A3: TDS 7.4 as carried in LOGIN7 (read little-endian) and LOGINACK (written as bytes 74 00 00 04). */
export const TDS_VERSION_7_4 = 0x74000004;

/** A4 / MS-TDS 2.2.7: token types the server emits. */
export const TokenType = {
  ReturnStatus: 0x79,
  ColMetadata: 0x81,
  Error: 0xaa,
  Info: 0xab,
  LoginAck: 0xad,
  FeatureExtAck: 0xae,
  Row: 0xd1,
  EnvChange: 0xe3,
  Done: 0xfd,
  DoneProc: 0xfe,
  DoneInProc: 0xff,
} as const;

/** A4 / MS-TDS 2.2.7.6: DONE, DONEPROC and DONEINPROC status bits. */
export const DoneStatus = {
  Final: 0x0000,
  More: 0x0001,
  Error: 0x0002,
  InTransaction: 0x0004,
  Count: 0x0010,
  Attention: 0x0020,
  ServerError: 0x0100,
} as const;

/** A4 / MS-TDS 2.2.7.9: ENVCHANGE types we emit. */
export const EnvChangeType = {
  Database: 1,
  Language: 2,
  PacketSize: 4,
  SqlCollation: 7,
  ResetConnection: 18,
} as const;

/** A2 / MS-TDS 2.2.6.5: PRELOGIN option tokens. */
export const PreLoginOption = {
  Version: 0x00,
  Encryption: 0x01,
  InstOpt: 0x02,
  ThreadId: 0x03,
  Mars: 0x04,
  TraceId: 0x05,
  FedAuthRequired: 0x06,
  Terminator: 0xff,
} as const;

/** A2: ENCRYPTION option values. */
export const Encryption = {
  Off: 0x00,
  On: 0x01,
  NotSupported: 0x02,
  Required: 0x03,
  /** MS-TDS 2.2.6.5: client-certificate authentication bit, OR-ed into the value. */
  ClientCertificateBit: 0x80,
} as const;

/** A3 / MS-TDS 2.2.6.4: LOGIN7 FeatureExt feature ids. */
export const FeatureId = {
  FedAuth: 0x02,
  Utf8Support: 0x0a,
  Terminator: 0xff,
} as const;

/**
 * A5: SQL_Latin1_General_CP1_CI_AS (LCID 0x0409, flags, sort id 52). Sent in ENVCHANGE 7 at login and in every
 * character TYPE_INFO; tedious maps it to code page 1252.
 */
export const DEFAULT_COLLATION = Buffer.from([0x09, 0x04, 0xd0, 0x00, 0x34]);

/** A6: the ProcIDs a client may use instead of a procedure name (MS-TDS 2.2.6.6). */
export const WELL_KNOWN_PROC_NAMES: ReadonlyMap<number, string> = new Map([
  [1, "sp_cursor"],
  [2, "sp_cursoropen"],
  [3, "sp_cursorprepare"],
  [4, "sp_cursorexecute"],
  [5, "sp_cursorprepexec"],
  [6, "sp_cursorunprepare"],
  [7, "sp_cursorfetch"],
  [8, "sp_cursoroption"],
  [9, "sp_cursorclose"],
  [10, "sp_executesql"],
  [11, "sp_prepare"],
  [12, "sp_execute"],
  [13, "sp_prepexec"],
  [14, "sp_prepexecrpc"],
  [15, "sp_unprepare"],
]);
