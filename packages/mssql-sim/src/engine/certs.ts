/**
 * Certificates for mirroring-endpoint authentication (B4). CREATE CERTIFICATE makes a real self-signed X.509
 * certificate so CERTENCODED returns DER that other tools can parse; CERTPRIVATEKEY returns the private key
 * encrypted with the caller's password. The blob format is the simulator's own (SQL Server's PVK blob is not
 * documented); what matters for the model is: same bytes in → same thumbprint, wrong password → error.
 */
import { createCipheriv, createDecipheriv, createHash, generateKeyPairSync, randomBytes, scryptSync } from "node:crypto";
import forge from "node-forge";

export interface CertificateMaterial {
  der: Buffer;
  privateKeyPem: string | null;
  subject: string;
  issuer: string;
  serialHex: string;
  startDate: Date;
  expiryDate: Date;
  thumbprint: Buffer;
}

export class CertificateDecryptionError extends Error {
  constructor() {
    super("An error occurred during decryption.");
    this.name = "CertificateDecryptionError";
  }
}

export class CertificateFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CertificateFormatError";
  }
}

const BLOB_MAGIC = Buffer.from("SIMPVK1\0", "latin1");

export function createSelfSignedCertificate(subject: string, now: Date, expiry?: Date): CertificateMaterial {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const publicPem = publicKey.export({ type: "spki", format: "pem" }).toString();
  const privatePem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicPem);
  cert.serialNumber = `0${randomBytes(8).toString("hex")}`.slice(0, 16);
  cert.validity.notBefore = now;
  // SQL Server's default validity for CREATE CERTIFICATE is one year.
  cert.validity.notAfter = expiry ?? new Date(now.getTime() + 365 * 24 * 3600 * 1000);
  const attrs = [{ name: "commonName", value: subject }];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.sign(forge.pki.privateKeyFromPem(privatePem), forge.md.sha256.create());
  const der = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), "binary");
  return { ...describeCertificate(der), privateKeyPem: privatePem };
}

export function describeCertificate(der: Buffer): Omit<CertificateMaterial, "privateKeyPem"> {
  let cert: forge.pki.Certificate;
  try {
    cert = forge.pki.certificateFromAsn1(forge.asn1.fromDer(der.toString("binary")));
  } catch {
    throw new CertificateFormatError("The certificate, asymmetric key, or private key data is invalid.");
  }
  const cn = (attrs: forge.pki.CertificateField[]): string => String(attrs.find((a) => a.shortName === "CN")?.value ?? "");
  return {
    der,
    subject: cn(cert.subject.attributes),
    issuer: cn(cert.issuer.attributes),
    serialHex: cert.serialNumber,
    startDate: cert.validity.notBefore,
    expiryDate: cert.validity.notAfter,
    thumbprint: createHash("sha1").update(der).digest(),
  };
}

/** CERTPRIVATEKEY: the PKCS#8 private key encrypted with `password` (AES-256-GCM, scrypt-derived key). */
export function encryptPrivateKey(privateKeyPem: string, password: string): Buffer {
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const key = scryptSync(password, salt, 32);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  const body = Buffer.concat([cipher.update(privateKeyPem, "utf8"), cipher.final()]);
  return Buffer.concat([BLOB_MAGIC, salt, iv, cipher.getAuthTag(), body]);
}

export function decryptPrivateKey(blob: Buffer, password: string): string {
  if (blob.length < 52 || !blob.subarray(0, 8).equals(BLOB_MAGIC)) throw new CertificateFormatError("The certificate, asymmetric key, or private key data is invalid.");
  const salt = blob.subarray(8, 24);
  const iv = blob.subarray(24, 36);
  const tag = blob.subarray(36, 52);
  const key = scryptSync(password, salt, 32);
  const decipher = createDecipheriv("aes-256-gcm", key, iv);
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(blob.subarray(52)), decipher.final()]).toString("utf8");
  } catch {
    throw new CertificateDecryptionError();
  }
}
