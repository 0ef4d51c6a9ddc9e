/**
 * Self-signed certificates for the simulator's TLS (A2), so clients can use `encrypt: true` with either
 * `trustServerCertificate: true` or the returned certificate as their CA.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import net from "node:net";
import forge from "node-forge";

export interface SelfSignedCertificate {
  /** PEM private key (PKCS#8). */
  key: string;
  /** PEM certificate. */
  cert: string;
  /** The same certificate, to pass as the client's trusted CA (`cryptoCredentialsDetails: { ca }`). */
  ca: string;
}

export interface SelfSignedCertificateOptions {
  /** Start of validity; the certificate is valid from one day before this. Default: now. */
  now?: Date;
  validityDays?: number;
}

/**
 * `altNames` become subjectAltName entries: IP addresses as iPAddress, anything else as dNSName. Clients
 * verify the name they connect with (or tedious's `serverName`) against these.
 */
export function createSelfSignedCertificate(
  commonName: string,
  altNames: string[],
  options: SelfSignedCertificateOptions = {},
): SelfSignedCertificate {
  const now = options.now ?? new Date();
  const validityDays = options.validityDays ?? 3650;
  const { privateKey, publicKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });

  const certificate = forge.pki.createCertificate();
  certificate.publicKey = forge.pki.publicKeyFromPem(publicKey);
  // Positive serial: clear the top bit of the first byte.
  const serial = randomBytes(16);
  serial[0] = (serial[0] as number) & 0x7f;
  certificate.serialNumber = serial.toString("hex");
  certificate.validity.notBefore = new Date(now.getTime() - 86_400_000);
  certificate.validity.notAfter = new Date(now.getTime() + validityDays * 86_400_000);
  const subject = [{ name: "commonName", value: commonName }];
  certificate.setSubject(subject);
  certificate.setIssuer(subject);
  certificate.setExtensions([
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, keyCertSign: true, critical: true },
    { name: "extKeyUsage", serverAuth: true, clientAuth: true },
    {
      name: "subjectAltName",
      altNames: altNames.map((name) => (net.isIP(name) !== 0 ? { type: 7, ip: name } : { type: 2, value: name })),
    },
    { name: "subjectKeyIdentifier" },
  ]);
  certificate.sign(forge.pki.privateKeyFromPem(privateKey), forge.md.sha256.create());
  const cert = forge.pki.certificateToPem(certificate);
  return { key: privateKey, cert, ca: cert };
}
