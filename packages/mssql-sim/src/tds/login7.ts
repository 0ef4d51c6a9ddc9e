/**
 * A3 (MS-TDS 2.2.6.4): LOGIN7. A 94-byte fixed header of little-endian fields, then variable data addressed by
 * (offset, length) pairs; offsets are from the start of the LOGIN7 payload, lengths in UCS-2 characters.
 */
import { NotModelledError, TdsProtocolError } from "./errors.js";
import { FeatureId, TDS_VERSION_7_4 } from "./protocol.js";
import { ByteReader } from "./wire.js";

const FIXED_HEADER_LENGTH = 94;
/** A3 OptionFlags2: integrated (Windows) security. */
const OPTION_FLAGS2_INTEGRATED_SECURITY = 0x80;
/** A3 TypeFlags: ApplicationIntent=ReadOnly. */
const TYPE_FLAGS_READ_ONLY_INTENT = 0x20;
/** A3 OptionFlags3: the Extension field points at a FeatureExt block. */
const OPTION_FLAGS3_EXTENSION = 0x10;

export interface LoginFeature {
  id: number;
  data: Buffer;
}

export interface Login7 {
  tdsVersion: number;
  packetSize: number;
  clientPid: number;
  readOnlyIntent: boolean;
  hostName: string;
  userName: string;
  password: string;
  appName: string;
  serverName: string;
  libraryName: string;
  language: string;
  database: string;
  features: LoginFeature[];
}

/** A3: each password byte was nibble-swapped then XOR-ed with 0xA5; undo it, then read UCS-2. */
export function decodeLoginPassword(obfuscated: Buffer): string {
  const clear = Buffer.allocUnsafe(obfuscated.length);
  for (let i = 0; i < obfuscated.length; i++) {
    const b = (obfuscated[i] as number) ^ 0xa5;
    clear[i] = ((b & 0x0f) << 4) | (b >> 4);
  }
  return clear.toString("utf16le");
}

/** The inverse of `decodeLoginPassword`, for tests and tools that build LOGIN7 by hand. */
export function encodeLoginPassword(password: string): Buffer {
  const clear = Buffer.from(password, "utf16le");
  const obfuscated = Buffer.allocUnsafe(clear.length);
  for (let i = 0; i < clear.length; i++) {
    const b = clear[i] as number;
    obfuscated[i] = (((b & 0x0f) << 4) | (b >> 4)) ^ 0xa5;
  }
  return obfuscated;
}

export function parseLogin7(payload: Buffer): Login7 {
  if (payload.length < FIXED_HEADER_LENGTH) {
    throw new TdsProtocolError(`LOGIN7 is ${payload.length} bytes, shorter than its ${FIXED_HEADER_LENGTH}-byte header`);
  }
  const header = new ByteReader(payload, 0, "LOGIN7");
  const declaredLength = header.u32le();
  if (declaredLength > payload.length) {
    throw new TdsProtocolError(`LOGIN7 declares ${declaredLength} bytes but the message holds ${payload.length}`);
  }
  const tdsVersion = header.u32le();
  if (tdsVersion !== TDS_VERSION_7_4) {
    throw new NotModelledError(`TDS version 0x${tdsVersion.toString(16).padStart(8, "0")} (only 7.4, 0x74000004)`);
  }
  const packetSize = header.u32le();
  header.skip(4); // ClientProgVer
  const clientPid = header.u32le();
  header.skip(4); // ConnectionID
  header.skip(1); // OptionFlags1
  const optionFlags2 = header.u8();
  const typeFlags = header.u8();
  const optionFlags3 = header.u8();
  header.skip(8); // ClientTimeZone, ClientLCID

  const text = (): string => {
    const offset = header.u16le();
    const charCount = header.u16le();
    return readText(payload, offset, charCount);
  };
  const hostName = text();
  const userName = text();
  const passwordOffset = header.u16le();
  const passwordChars = header.u16le();
  const appName = text();
  const serverName = text();
  const extensionOffset = header.u16le();
  const extensionLength = header.u16le();
  const libraryName = text();
  const language = text();
  const database = text();
  header.skip(6); // ClientID (MAC address)
  header.skip(2); // ibSSPI
  const sspiLength = header.u16le();
  header.skip(4); // ibAtchDBFile, cchAtchDBFile
  header.skip(2); // ibChangePassword
  const changePasswordChars = header.u16le();
  const sspiLongLength = header.u32le();

  if ((optionFlags2 & OPTION_FLAGS2_INTEGRATED_SECURITY) !== 0 || sspiLength > 0 || sspiLongLength > 0) {
    throw new NotModelledError("integrated (SSPI/NTLM/Kerberos) authentication; use SQL authentication");
  }
  if (changePasswordChars > 0) throw new NotModelledError("changing the password during LOGIN7");

  checkRange(payload, passwordOffset, passwordChars * 2, "password");
  const password = decodeLoginPassword(payload.subarray(passwordOffset, passwordOffset + passwordChars * 2));

  let features: LoginFeature[] = [];
  if ((optionFlags3 & OPTION_FLAGS3_EXTENSION) !== 0 && extensionLength >= 4) {
    checkRange(payload, extensionOffset, 4, "FeatureExt pointer");
    // A3: ibExtension points at a DWORD holding the FeatureExt offset; tedious 20 puts the block at the end.
    features = parseFeatureExt(payload, payload.readUInt32LE(extensionOffset));
  }
  if (features.some((feature) => feature.id === FeatureId.FedAuth)) {
    throw new NotModelledError("federated (Microsoft Entra / Azure AD) authentication; use SQL authentication");
  }

  return {
    tdsVersion,
    packetSize,
    clientPid,
    readOnlyIntent: (typeFlags & TYPE_FLAGS_READ_ONLY_INTENT) !== 0,
    hostName,
    userName,
    password,
    appName,
    serverName,
    libraryName,
    language,
    database,
    features,
  };
}

/** A3 FeatureExt: (featureId BYTE, dataLen DWORD, data) repeated, ended by 0xFF. */
function parseFeatureExt(payload: Buffer, offset: number): LoginFeature[] {
  const reader = new ByteReader(payload, offset, "LOGIN7 FeatureExt");
  const features: LoginFeature[] = [];
  for (;;) {
    const id = reader.u8();
    if (id === FeatureId.Terminator) return features;
    const length = reader.u32le();
    features.push({ id, data: reader.bytes(length) });
  }
}

function readText(payload: Buffer, offset: number, charCount: number): string {
  if (charCount === 0) return "";
  checkRange(payload, offset, charCount * 2, "string field");
  return payload.toString("utf16le", offset, offset + charCount * 2);
}

function checkRange(payload: Buffer, offset: number, byteCount: number, what: string): void {
  if (offset + byteCount > payload.length) {
    throw new TdsProtocolError(`LOGIN7 ${what} at ${offset}+${byteCount} lies outside the ${payload.length}-byte payload`);
  }
}
