/**
 * Security catalog and database DDL (tds-and-sqlserver.md B4; databases per B3 ADD DATABASE prerequisites).
 */
import { readFileSync, writeFileSync } from "node:fs";
import type { ResultItem } from "../tds/engine-port.js";
import type { DdlOption, Statement } from "./ast.js";
import { CertificateDecryptionError, createSelfSignedCertificate, decryptPrivateKey, describeCertificate, type CertificateMaterial } from "./certs.js";
import type { ExecContext } from "./engine.js";
import { Errors, SqlError } from "./errors.js";
import { sameName, type CertificateRecord } from "./model.js";
import { findOption, NotModelledError, optionText } from "./parser.js";

function requireSysadmin(ctx: ExecContext): void {
  if (!ctx.engine.isSysadmin(ctx.session.login) && !ctx.engine.hasServerPermission(ctx.session.login, "CONTROL SERVER")) {
    throw new SqlError(15247, "User does not have permission to perform this action.", 16, 1);
  }
}

function requireMaster(ctx: ExecContext, what: string): void {
  // The model keeps the master key, certificates and logins in master only.
  if (!sameName(ctx.session.database, "master")) throw new NotModelledError(`${what} outside master (${ctx.statement.text})`);
}

export async function* executeSecurityStatement(ctx: ExecContext, statement: Statement): AsyncGenerator<ResultItem> {
  const { model } = ctx;
  const catalog = model.catalog;
  const now = model.now();
  switch (statement.type) {
    case "createMasterKey":
      requireSysadmin(ctx);
      requireMaster(ctx, "CREATE MASTER KEY");
      if (catalog.masterKeyCreatedMs !== null) throw Errors.masterKeyExists();
      catalog.masterKeyCreatedMs = now;
      break;
    case "createCertificate": {
      requireSysadmin(ctx);
      requireMaster(ctx, "CREATE CERTIFICATE");
      if (catalog.certificates.some((c) => sameName(c.name, statement.name))) throw Errors.certificateExists(statement.name);
      let material: CertificateMaterial;
      if (statement.fromBinary || statement.fromFile) {
        const der = statement.fromBinary ?? readCertificateFile(statement.fromFile as string);
        try {
          material = { ...describeCertificate(der), privateKeyPem: null };
        } catch {
          throw Errors.invalidCertificate();
        }
        if (statement.privateKey) {
          // B4: the imported private key is re-encrypted by the DMK, so the DMK must exist (15581).
          if (catalog.masterKeyCreatedMs === null) throw Errors.noMasterKey();
          const password = optionText(statement.privateKey, "DECRYPTION BY PASSWORD") ?? "";
          const binary = findOption(statement.privateKey, "BINARY")?.values[0];
          const file = optionText(statement.privateKey, "FILE");
          const blob = binary ? Buffer.from(binary.text, "hex") : file ? readCertificateFile(file) : null;
          if (!blob) throw new NotModelledError(statement.text);
          try {
            material.privateKeyPem = decryptPrivateKey(blob, password);
          } catch (err) {
            if (err instanceof CertificateDecryptionError) throw Errors.decryptionFailed();
            throw Errors.invalidCertificate();
          }
        }
        if (catalog.certificates.some((c) => c.thumbprintHex === material.thumbprint.toString("hex"))) throw Errors.certificateExists(statement.name);
      } else {
        if (catalog.masterKeyCreatedMs === null) throw Errors.noMasterKey();
        material = createSelfSignedCertificate(statement.subject ?? statement.name, new Date(now));
      }
      const owner = statement.authorization ? catalog.users.find((u) => sameName(u.name, statement.authorization)) : undefined;
      if (statement.authorization && !owner) throw new SqlError(15151, `Cannot find the user '${statement.authorization}', because it does not exist or you do not have permission.`, 16, 1);
      const record: CertificateRecord = {
        name: statement.name,
        certificateId: catalog.nextCertificateId++,
        principalId: owner ? 5 + catalog.users.indexOf(owner) : 1,
        derBase64: material.der.toString("base64"),
        privateKeyPem: material.privateKeyPem,
        subject: material.subject,
        issuer: material.issuer,
        serialHex: material.serialHex,
        startDateMs: material.startDate.getTime(),
        expiryDateMs: material.expiryDate.getTime(),
        thumbprintHex: material.thumbprint.toString("hex"),
      };
      catalog.certificates.push(record);
      break;
    }
    case "createEndpoint": {
      requireSysadmin(ctx);
      if (catalog.endpoint) throw Errors.endpointExists();
      const port = Number(optionText(statement.tcp, "LISTENER_PORT") ?? "5022");
      const ip = findOption(statement.tcp, "LISTENER_IP")?.values[0]?.text ?? "ALL";
      const auth = findOption(statement.mirroring, "AUTHENTICATION")?.values ?? [];
      const certName = auth[0]?.text === "CERTIFICATE" ? (auth[1]?.text ?? null) : null;
      if (auth.length > 0 && auth[0]?.text !== "CERTIFICATE") throw new NotModelledError(`endpoint AUTHENTICATION = ${auth.map((a) => a.text).join(" ")} (only CERTIFICATE)`);
      if (certName && !catalog.certificates.some((c) => sameName(c.name, certName))) throw Errors.certificateNotFound(certName);
      const encryption = findOption(statement.mirroring, "ENCRYPTION")?.values.map((v) => v.text) ?? ["REQUIRED"];
      const algorithm = encryption.includes("RC4") && !encryption.includes("AES") ? "RC4" : encryption[0] === "DISABLED" ? "NONE" : "AES";
      const roleText = optionText(statement.mirroring, "ROLE") ?? "ALL";
      catalog.endpoint = {
        name: statement.name,
        endpointId: 65536,
        port,
        ipAddress: ip,
        state: statement.state === "STARTED" ? "STARTED" : statement.state === "DISABLED" ? "DISABLED" : "STOPPED",
        role: (["NONE", "PARTNER", "WITNESS", "ALL"].includes(roleText) ? roleText : "ALL") as "ALL",
        authenticationCertificate: certName ? (catalog.certificates.find((c) => sameName(c.name, certName))?.name ?? certName) : null,
        encryptionAlgorithm: algorithm,
        encryptionRequired: encryption[0] === "REQUIRED",
      };
      model.saveCatalog();
      if (catalog.endpoint.state === "STARTED") await model.startEndpointListener();
      break;
    }
    case "alterEndpoint": {
      requireSysadmin(ctx);
      if (!catalog.endpoint || !sameName(catalog.endpoint.name, statement.name)) throw Errors.endpointNotFound(statement.name);
      if (statement.state === "STARTED" || statement.state === "STOPPED") {
        await model.setEndpointState(statement.state);
        model.log("endpoint_state", { server: model.serverName, state: statement.state });
      } else if (statement.state) throw new NotModelledError(statement.text);
      break;
    }
    case "dropEndpoint":
      requireSysadmin(ctx);
      if (!catalog.endpoint || !sameName(catalog.endpoint.name, statement.name)) throw Errors.endpointNotFound(statement.name);
      await model.setEndpointState("STOPPED");
      catalog.endpoint = null;
      break;
    case "createLogin": {
      requireSysadmin(ctx);
      if (catalog.logins.some((l) => sameName(l.name, statement.name))) throw Errors.principalExists(statement.name);
      if (statement.fromCertificate && !catalog.certificates.some((c) => sameName(c.name, statement.fromCertificate))) throw Errors.certificateNotFound(statement.fromCertificate);
      catalog.logins.push({
        name: statement.name,
        principalId: catalog.nextPrincipalId++,
        type: statement.fromCertificate ? "CERTIFICATE_MAPPED_LOGIN" : "SQL_LOGIN",
        password: statement.password ?? null,
        certificate: statement.fromCertificate ?? null,
        disabled: false,
        createDateMs: now,
      });
      break;
    }
    case "alterLogin": {
      requireSysadmin(ctx);
      const login = catalog.logins.find((l) => sameName(l.name, statement.name));
      if (!login) throw Errors.principalNotFound(statement.name);
      if (statement.password !== undefined) {
        if (sameName(login.name, "sa")) catalog.saPassword = statement.password;
        else login.password = statement.password;
      }
      if (statement.enable !== undefined) login.disabled = !statement.enable;
      break;
    }
    case "createUser": {
      requireSysadmin(ctx);
      requireMaster(ctx, "CREATE USER");
      if (catalog.users.some((u) => sameName(u.name, statement.name))) throw Errors.userExists(statement.name);
      if (statement.login && !catalog.logins.some((l) => sameName(l.name, statement.login))) throw Errors.principalNotFound(statement.login);
      catalog.users.push({ name: statement.name, login: statement.login ?? null });
      break;
    }
    case "grant": {
      requireSysadmin(ctx);
      const securableClass = statement.securableClass ?? "SERVER";
      if (!["SERVER", "ENDPOINT", "AVAILABILITY GROUP"].includes(securableClass)) throw new NotModelledError(statement.text);
      if (securableClass === "ENDPOINT" && !(catalog.endpoint && sameName(catalog.endpoint.name, statement.securable))) throw Errors.endpointNotFound(statement.securable ?? "");
      if (securableClass === "AVAILABILITY GROUP" && !model.ags.has((statement.securable ?? "").toLowerCase())) throw Errors.agDoesNotExistAlter(statement.securable ?? "");
      const grantee = catalog.logins.find((l) => sameName(l.name, statement.principal)) ?? catalog.users.find((u) => sameName(u.name, statement.principal));
      if (!grantee) throw Errors.principalNotFound(statement.principal);
      const granteeLogin = "principalId" in grantee ? grantee.name : (grantee.login ?? grantee.name);
      for (const permission of statement.permission.split(/\s*,\s*/)) {
        catalog.permissions = catalog.permissions.filter(
          (p) => !(p.permission === permission && p.securableClass === securableClass && sameName(p.securable, statement.securable ?? null) && sameName(p.grantee, granteeLogin)),
        );
        catalog.permissions.push({ permission, securableClass, securable: statement.securable ?? null, grantee: granteeLogin, state: statement.deny ? "DENY" : "GRANT" });
      }
      break;
    }
    case "alterServerRole": {
      requireSysadmin(ctx);
      if (!["sysadmin"].includes(statement.role.toLowerCase())) throw new NotModelledError(statement.text);
      if (!catalog.logins.some((l) => sameName(l.name, statement.member))) throw Errors.principalNotFound(statement.member);
      catalog.serverRoleMembers = catalog.serverRoleMembers.filter((m) => !(sameName(m.role, statement.role) && sameName(m.member, statement.member)));
      if (statement.add) catalog.serverRoleMembers.push({ role: statement.role.toLowerCase(), member: statement.member });
      break;
    }
    case "createDatabase":
      requireSysadmin(ctx);
      if (ctx.engine.databaseExists(statement.name)) throw Errors.databaseExists(statement.name);
      model.createDatabaseRuntime(statement.name);
      model.log("database_created", { server: model.serverName, db: statement.name });
      break;
    case "dropDatabase": {
      requireSysadmin(ctx);
      const db = model.dbs.get(statement.name.toLowerCase());
      if (!db) throw new SqlError(3701, `Cannot drop the database '${statement.name}', because it does not exist or you do not have permission.`, 11, 1);
      if (db.record.hadr) throw new SqlError(3752, `The database '${statement.name}' is currently joined to an availability group. Before you can drop the database, you need to remove it from the availability group.`, 16, 1);
      if ([...ctx.engine.sessions.values()].some((s) => s !== ctx.session && sameName(s.database, statement.name))) {
        throw new SqlError(3702, `Cannot drop database "${statement.name}" because it is currently in use.`, 16, 4);
      }
      model.dbs.delete(statement.name.toLowerCase());
      catalog.databases = catalog.databases.filter((d) => d !== db.record);
      model.store.deleteLog(db.record.databaseId);
      break;
    }
    case "alterDatabase": {
      requireSysadmin(ctx);
      const db = model.dbs.get(statement.name.toLowerCase());
      if (!db) throw Errors.databaseDoesNotExist(statement.name);
      if (statement.setting === "recovery") {
        if (!["FULL", "SIMPLE", "BULK_LOGGED"].includes(statement.value)) throw new NotModelledError(statement.text);
        // Switching away from FULL breaks the log backup chain; a new full backup is required again.
        if (statement.value !== "FULL") db.record.hasFullBackup = false;
        db.record.recoveryModel = statement.value as "FULL";
      } else {
        const ag = model.agOf(db);
        if (statement.value === "RESUME" || statement.value === "SUSPEND") {
          // B3 ALTER DATABASE … SET HADR RESUME: resume after forced failover.
          if (!db.record.hadr) throw Errors.databaseNotInAg(statement.name);
          db.record.hadr.suspended = statement.value === "SUSPEND";
          db.record.hadr.suspendReason = statement.value === "SUSPEND" ? "SUSPEND_FROM_USER" : null;
          model.saveCatalog();
          if (ag) model.sendStatus(ag);
        } else if (statement.value === "AVAILABILITY GROUP") {
          throw new NotModelledError(`${statement.text} (manual seeding; the model uses SEEDING_MODE = AUTOMATIC)`);
        } else if (statement.value === "OFF") {
          if (!db.record.hadr) throw Errors.databaseNotInAg(statement.name);
          if (ag?.role === "PRIMARY") throw Errors.hadrNotOnPrimary(statement.name);
          db.record.hadr = null;
          db.record.restoring = true;
        } else throw new NotModelledError(statement.text);
      }
      break;
    }
    case "backupDatabase": {
      requireSysadmin(ctx);
      const db = model.dbs.get(statement.name.toLowerCase());
      if (!db) throw Errors.databaseDoesNotExist(statement.name);
      if (statement.log && (db.record.recoveryModel !== "FULL" || !db.record.hasFullBackup)) {
        throw new SqlError(4214, "BACKUP LOG cannot be performed because there is no current database backup.", 16, 1);
      }
      if (statement.disk.toUpperCase() !== "NUL") {
        try {
          writeFileSync(statement.disk, JSON.stringify({ database: db.record.name, entries: db.log.length, atMs: now }));
        } catch (err) {
          throw new SqlError(3201, `Cannot open backup device '${statement.disk}'. Operating system error ${(err as NodeJS.ErrnoException).code ?? "unknown"}.`, 16, 1);
        }
      }
      if (!statement.log) db.record.hasFullBackup = true;
      yield { kind: "info", number: 3014, state: 1, severity: 0, message: `BACKUP ${statement.log ? "LOG" : "DATABASE"} successfully processed ${db.log.length + 1} pages.` };
      break;
    }
    default:
      throw new NotModelledError(statement.text);
  }
  model.saveCatalog();
  yield { kind: "done" };
}

function readCertificateFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch {
    throw new SqlError(15208, `The certificate, asymmetric key, or private key file is not valid or does not exist; or you do not have permissions for it. (${path})`, 16, 1);
  }
}

export function optionNumber(options: DdlOption[], name: string): number | undefined {
  const text = optionText(options, name);
  return text === undefined ? undefined : Number(text);
}
