import { expect } from "chai";
import { withDefaults, type SQLServerAvailabilityGroupSpec } from "@sqlag/api";
import { systemClock } from "@sqlag/kube";
import type { SqlQueryError } from "../sql/errors.js";
import type { Row } from "../sql/mappers.js";
import * as actions from "./sql-actions.js";
import { FakeSql, sqlError } from "./testing/fake-sql.js";

/** Every statement log of this file; checked once at the end for destructive statements. */
const everySql: FakeSql[] = [];

function fakeSql(): FakeSql {
  const sql = new FakeSql();
  everySql.push(sql);
  return sql;
}

class FakeSecretStore implements actions.HadrSecretStore {
  published: { certificate: Buffer; privateKey: Buffer } | undefined;
  constructor(private readonly secret: actions.HadrSecret) {}
  async read(): Promise<actions.HadrSecret> {
    return { ...this.secret, ...(this.published !== undefined ? this.published : {}) };
  }
  async publishCertificate(certificate: Buffer, privateKey: Buffer): Promise<boolean> {
    this.published = { certificate, privateKey };
    return true;
  }
}

const PASSWORDS = { masterKeyPassword: "mk-secret", certificatePassword: "cert-secret", agentLoginPassword: "agent-secret" };
const CERTIFICATE = Buffer.from("3082010a0282010100", "hex");
const PRIVATE_KEY = Buffer.from("1e0a0b0c0d", "hex");

function ctx(sql: FakeSql, secret: actions.HadrSecret = { ...PASSWORDS }): { ctx: actions.SqlActionContext; secrets: FakeSecretStore } {
  const secrets = new FakeSecretStore(secret);
  return {
    secrets,
    ctx: { sql, secrets, clock: systemClock, agName: "AG1", clusterName: "ag1", namespace: "db", podName: "ag1-0", endpointPort: 5022, rolePollIntervalMs: 1 },
  };
}

function security(present: boolean, overrides: Partial<Record<string, number>> = {}): Row[] {
  const n = present ? 1 : 0;
  return [{ master_keys: n, certificates: n, endpoint_logins: n, agent_logins: 1, mirroring_endpoints: n, ...overrides }];
}

function localRole(role: string): Row[] {
  return [{ group_id: "6F9619FF-8B86-D011-B42D-00C04FC964FF", sequence_number: "7", role_desc: role, replica_server_name: "ag1-0", availability_mode_desc: "SYNCHRONOUS_COMMIT" }];
}

/** Answers the role query with each value in turn (the last one repeats): FAILOVER/OFFLINE return before the role changes. */
function roles(...sequence: string[]): () => Row[] {
  let call = 0;
  return () => localRole(sequence[Math.min(call++, sequence.length - 1)]!);
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  return undefined;
}

const signal = new AbortController().signal;

const spec = (edit?: (s: SQLServerAvailabilityGroupSpec) => void) => {
  const input: SQLServerAvailabilityGroupSpec = {
    agName: "AG1",
    saPasswordSecretRef: { name: "sa", key: "password" },
    replicas: [
      { name: "a", availabilityMode: "SynchronousCommit", failoverMode: "Automatic" },
      { name: "b", availabilityMode: "SynchronousCommit", failoverMode: "Automatic", readableSecondary: true },
      { name: "c", availabilityMode: "AsynchronousCommit", failoverMode: "Manual" },
    ],
    timing: { leaseDurationSeconds: 15, renewIntervalSeconds: 2, renewDeadlineSeconds: 5, sqlWriteLeaseSeconds: 8 },
  };
  edit?.(input);
  return withDefaults(input);
};

describe("SQL actions", () => {
  after(() => {
    // ARCHITECTURE §4.4/§4.5: never DROP anything, never FORCE_FAILOVER_ALLOW_DATA_LOSS, whatever the path.
    const sent = everySql.flatMap((s) => s.sent.map((x) => x.sql));
    expect(sent.length).to.be.greaterThan(20);
    expect(sent.filter((text) => /\bDROP\b|FORCE_FAILOVER/i.test(text))).to.deep.equal([]);
  });

  describe("renewSqlWriteLease", () => {
    const cases: { name: string; error?: number; succeeds: boolean }[] = [
      { name: "accepted", succeeds: true },
      { name: "47116 (AG created without the lease option) is tolerated as in Pacemaker", error: 47116, succeeds: true },
      { name: "47119 (cannot shorten a still-valid lease) is tolerated as in Pacemaker", error: 47119, succeeds: true },
      { name: "47117 (value out of range) is a configuration error and surfaces", error: 47117, succeeds: false },
      { name: "47118 (value out of range) is a configuration error and surfaces", error: 47118, succeeds: false },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const sql = fakeSql();
        if (c.error !== undefined) sql.failNext("renew_write_lease", sqlError(c.error));
        const error = await rejection(actions.renewSqlWriteLease(ctx(sql).ctx, 8, signal));
        expect(sql.sent.map((s) => s.sql)).to.deep.equal(["ALTER AVAILABILITY GROUP [AG1] SET (WRITE_LEASE_VALIDITY = 8)"]);
        if (c.succeeds) expect(error).to.equal(undefined);
        else expect((error as SqlQueryError).number).to.equal(c.error);
      });
    }
  });

  describe("publishCertificate (holder, first bootstrap step)", () => {
    it("creates the master key and certificate, exports them and stores them in the Secret", async () => {
      const sql = fakeSql().answer("security_state", security(false)).answer("export_certificate", [{ certificate: CERTIFICATE, private_key: PRIVATE_KEY }]);
      const { ctx: c, secrets } = ctx(sql);
      await actions.publishCertificate(c, signal);
      expect(sql.names()).to.deep.equal(["security_state", "create_master_key", "create_certificate", "export_certificate"]);
      expect(secrets.published).to.deep.equal({ certificate: CERTIFICATE, privateKey: PRIVATE_KEY });
    });

    it("catalog checked first: an existing master key and certificate are exported, not recreated", async () => {
      const sql = fakeSql().answer("security_state", security(true)).answer("export_certificate", [{ certificate: CERTIFICATE, private_key: PRIVATE_KEY }]);
      await actions.publishCertificate(ctx(sql).ctx, signal);
      expect(sql.names()).to.deep.equal(["security_state", "export_certificate"]);
    });

    it("15578 (master key already exists) is tolerated", async () => {
      const sql = fakeSql()
        .answer("security_state", security(false))
        .failNext("create_master_key", sqlError(15578))
        .answer("export_certificate", [{ certificate: CERTIFICATE, private_key: PRIVATE_KEY }]);
      await actions.publishCertificate(ctx(sql).ctx, signal);
      expect(sql.names()).to.include("create_certificate");
    });

    it("a certificate already in the Secret: nothing is sent", async () => {
      const sql = fakeSql();
      await actions.publishCertificate(ctx(sql, { ...PASSWORDS, certificate: CERTIFICATE, privateKey: PRIVATE_KEY }).ctx, signal);
      expect(sql.sent).to.deep.equal([]);
    });
  });

  // ADR 0006: the hadr Secret was deleted and re-created empty (new passwords) while the AG lives on.
  describe("republishExistingCertificate (holder of an existing AG, Secret without a certificate)", () => {
    const cases: { name: string; secret: actions.HadrSecret; security: Row[]; expectedStatements: string[]; expectedResult: boolean | "EndpointCertificateMissingError" }[] = [
      {
        name: "the existing certificate is exported with the Secret's current password, nothing is created",
        secret: { ...PASSWORDS },
        security: security(true),
        expectedStatements: ["security_state", "export_certificate"],
        expectedResult: true,
      },
      {
        name: "the Secret already has a certificate: nothing is sent",
        secret: { ...PASSWORDS, certificate: CERTIFICATE, privateKey: PRIVATE_KEY },
        security: security(true),
        expectedStatements: [],
        expectedResult: false,
      },
      {
        name: "the certificate is gone from this instance: refuses, never creates a different one",
        secret: { ...PASSWORDS },
        security: security(true, { certificates: 0 }),
        expectedStatements: ["security_state"],
        expectedResult: "EndpointCertificateMissingError",
      },
      {
        name: "no master key either: still never creates one (the export would need a new certificate)",
        secret: { ...PASSWORDS },
        security: security(false),
        expectedStatements: ["security_state"],
        expectedResult: "EndpointCertificateMissingError",
      },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const sql = fakeSql().answer("security_state", c.security).answer("export_certificate", [{ certificate: CERTIFICATE, private_key: PRIVATE_KEY }]);
        const { ctx: context, secrets } = ctx(sql, c.secret);
        if (c.expectedResult === "EndpointCertificateMissingError") {
          const error = await rejection(actions.republishExistingCertificate(context, signal));
          expect(error).to.be.instanceOf(actions.EndpointCertificateMissingError);
          expect(secrets.published).to.equal(undefined);
        } else {
          expect(await actions.republishExistingCertificate(context, signal)).to.equal(c.expectedResult);
        }
        expect(sql.names()).to.deep.equal(c.expectedStatements);
        if (c.expectedResult === true) {
          expect(secrets.published).to.deep.equal({ certificate: CERTIFICATE, privateKey: PRIVATE_KEY });
          const exportStatement = sql.sent.find((s) => s.name === "export_certificate")!;
          expect(JSON.stringify(exportStatement)).to.contain(PASSWORDS.certificatePassword);
        }
      });
    }
  });

  describe("prepareEndpoint (every replica)", () => {
    const withCertificate: actions.HadrSecret = { ...PASSWORDS, certificate: CERTIFICATE, privateKey: PRIVATE_KEY };

    it("empty instance: master key, endpoint login and user, shared certificate, endpoint, CONNECT grant", async () => {
      let reads = 0;
      const sql = fakeSql().answer("security_state", () => (reads++ === 0 ? security(false) : security(false, { master_keys: 1, endpoint_logins: 1 })));
      await actions.prepareEndpoint(ctx(sql, withCertificate).ctx, signal);
      expect(sql.names()).to.deep.equal(["security_state", "create_master_key", "create_login", "create_user", "security_state", "import_certificate", "create_endpoint", "grant_connect_endpoint"]);
      const endpoint = sql.sent.find((s) => s.name === "create_endpoint")!.sql;
      expect(endpoint).to.contain("LISTENER_PORT = 5022").and.contain("AUTHENTICATION = CERTIFICATE").and.contain("ENCRYPTION = REQUIRED ALGORITHM AES");
    });

    it("everything in place: only the idempotent user check and the grant are repeated", async () => {
      const sql = fakeSql()
        .answer("security_state", security(true))
        .answer("mirroring_endpoint_state", [{ name: "Hadr_endpoint", state_desc: "STARTED", port: 5022 }]);
      await actions.prepareEndpoint(ctx(sql, withCertificate).ctx, signal);
      expect(sql.names().filter((n) => n.startsWith("create_") || n === "import_certificate" || n.endsWith("_endpoint"))).to.deep.equal(["create_user", "grant_connect_endpoint"]);
      expect(sql.sent.find((s) => s.name === "create_user")!.sql).to.match(/^IF NOT EXISTS/);
    });

    it("a stopped endpoint is started again", async () => {
      const sql = fakeSql()
        .answer("security_state", security(true))
        .answer("mirroring_endpoint_state", [{ name: "Hadr_endpoint", state_desc: "STOPPED", port: 5022 }]);
      await actions.prepareEndpoint(ctx(sql, withCertificate).ctx, signal);
      expect(sql.sent.filter((s) => s.name === "start_endpoint").map((s) => s.sql)).to.deep.equal(["ALTER ENDPOINT [Hadr_endpoint] STATE = STARTED"]);
    });

    it("15025 (login already exists) is tolerated: the step continues", async () => {
      const sql = fakeSql().answer("security_state", security(true, { endpoint_logins: 0 })).failNext("create_login", sqlError(15025));
      await actions.prepareEndpoint(ctx(sql, withCertificate).ctx, signal);
      expect(sql.names()).to.include("grant_connect_endpoint");
    });

    it("without the published certificate it fails before creating an endpoint with its own certificate", async () => {
      const sql = fakeSql().answer("security_state", security(false, { master_keys: 1, endpoint_logins: 1 }));
      const error = await rejection(actions.prepareEndpoint(ctx(sql).ctx, signal));
      expect(error).to.be.instanceOf(Error);
      expect(sql.names()).to.not.include("create_endpoint");
      expect(sql.names()).to.not.include("create_certificate");
    });
  });

  describe("createAvailabilityGroup (holder)", () => {
    it("creates the AG with every spec replica, EXTERNAL, and the SQL write lease", async () => {
      const sql = fakeSql();
      await actions.createAvailabilityGroup(ctx(sql).ctx, spec(), signal);
      expect(sql.names()).to.deep.equal(["local_replica_state", "create_availability_group"]);
      const text = sql.sent[1]!.sql;
      expect(text).to.match(/^CREATE AVAILABILITY GROUP \[AG1\] WITH \(CLUSTER_TYPE = EXTERNAL, DB_FAILOVER = ON, WRITE_LEASE_VALIDITY = 8\)/);
      for (const pod of ["ag1-0", "ag1-1", "ag1-2"]) expect(text).to.contain(`N'${pod}' WITH (ENDPOINT_URL = N'TCP://${pod}.ag1-hl.db.svc.cluster.local:5022'`);
      expect(text.match(/FAILOVER_MODE = EXTERNAL/g)).to.have.length(3);
    });

    it("catalog checked first: an AG that already exists here is not created again", async () => {
      const sql = fakeSql().answer("local_replica_state", localRole("PRIMARY"));
      await actions.createAvailabilityGroup(ctx(sql).ctx, spec(), signal);
      expect(sql.names()).to.deep.equal(["local_replica_state"]);
    });
  });

  describe("joinAvailabilityGroup", () => {
    const cases: { name: string; joined: boolean; grant: boolean; expected: string[] }[] = [
      { name: "not joined yet: JOIN then GRANT CREATE ANY DATABASE", joined: false, grant: true, expected: ["local_replica_state", "join_availability_group", "grant_create_any_database"] },
      { name: "already joined (crash after JOIN): only the grant is repeated", joined: true, grant: true, expected: ["local_replica_state", "grant_create_any_database"] },
      { name: "configuration-only replica: JOIN without the grant", joined: false, grant: false, expected: ["local_replica_state", "join_availability_group"] },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const sql = fakeSql();
        if (c.joined) sql.answer("local_replica_state", localRole("SECONDARY"));
        await actions.joinAvailabilityGroup(ctx(sql).ctx, c.grant, signal);
        expect(sql.names()).to.deep.equal(c.expected);
      });
    }
    it("JOIN carries CLUSTER_TYPE = EXTERNAL", async () => {
      const sql = fakeSql();
      await actions.joinAvailabilityGroup(ctx(sql).ctx, false, signal);
      expect(sql.sent[1]?.sql).to.equal("ALTER AVAILABILITY GROUP [AG1] JOIN WITH (CLUSTER_TYPE = EXTERNAL)");
    });
  });

  describe("addDatabase (declarative spec.databases)", () => {
    const database = (recovery: string, inAg: boolean): Row => ({ name: "appdb", state_desc: "ONLINE", recovery_model_desc: recovery, group_database_id: inAg ? "0D1C2B3A-0000-0000-0000-000000000001" : null });
    const cases: { name: string; existing: Row[]; failCreateWith?: number; expected: string[] }[] = [
      { name: "missing: create, FULL recovery, first backup, ADD DATABASE", existing: [], expected: ["user_databases", "create_database", "set_recovery_full", "backup_database", "add_database"] },
      { name: "exists in SIMPLE recovery: not recreated", existing: [database("SIMPLE", false)], expected: ["user_databases", "set_recovery_full", "backup_database", "add_database"] },
      { name: "exists in FULL recovery: backup and add only", existing: [database("FULL", false)], expected: ["user_databases", "backup_database", "add_database"] },
      { name: "already in the AG: nothing to do", existing: [database("FULL", true)], expected: ["user_databases"] },
      { name: "1801 (created meanwhile) is tolerated", existing: [], failCreateWith: 1801, expected: ["user_databases", "create_database", "set_recovery_full", "backup_database", "add_database"] },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const sql = fakeSql().answer("user_databases", c.existing);
        if (c.failCreateWith !== undefined) sql.failNext("create_database", sqlError(c.failCreateWith));
        await actions.addDatabase(ctx(sql).ctx, "appdb", signal);
        expect(sql.names()).to.deep.equal(c.expected);
      });
    }
  });

  describe("promote, offline and setRoleSecondary", () => {
    it("promote: session context and FAILOVER in one batch, then polls until PRIMARY", async () => {
      const sql = fakeSql().answer("local_replica_state", roles("SECONDARY", "SECONDARY", "PRIMARY"));
      await actions.promote(ctx(sql).ctx, signal);
      expect(sql.sent[0]?.sql).to.equal("EXEC sp_set_session_context @key = N'external_cluster', @value = N'yes'; ALTER AVAILABILITY GROUP [AG1] FAILOVER");
      expect(sql.names()).to.deep.equal(["failover", "local_replica_state", "local_replica_state", "local_replica_state"]);
    });

    it("promote: 41142 (clean refusal) surfaces with its number and nothing else is sent", async () => {
      const sql = fakeSql().failNext("failover", sqlError(41142));
      const error = await rejection(actions.promote(ctx(sql).ctx, signal));
      expect((error as SqlQueryError).number).to.equal(41142);
      expect(sql.names()).to.deep.equal(["failover"]);
    });

    it("promote waits no longer than its signal", async () => {
      const sql = fakeSql().answer("local_replica_state", roles("SECONDARY"));
      const error = await rejection(actions.promote(ctx(sql).ctx, AbortSignal.timeout(30)));
      expect(error).to.not.equal(undefined);
    });

    it("offline: OFFLINE (never SET ROLE = SECONDARY on a primary), then waits until the role is no longer PRIMARY", async () => {
      const sql = fakeSql().answer("local_replica_state", roles("PRIMARY", "RESOLVING"));
      await actions.offline(ctx(sql).ctx, signal);
      expect(sql.sent.map((s) => s.sql).filter((t) => !t.startsWith("SELECT"))).to.deep.equal(["ALTER AVAILABILITY GROUP [AG1] OFFLINE"]);
    });

    it("setRoleSecondary: the RESOLVING replica's own statement", async () => {
      const sql = fakeSql();
      await actions.setRoleSecondary(ctx(sql).ctx, signal);
      expect(sql.sent.map((s) => s.sql)).to.deep.equal(["ALTER AVAILABILITY GROUP [AG1] SET (ROLE = SECONDARY)"]);
    });

    it("restartEndpoint: STOPPED then STARTED on the own endpoint, OFFLINE first when asked and its refusal tolerated", async () => {
      const sql = fakeSql().failNext("offline", sqlError(41140)).answer("mirroring_endpoint_state", [{ name: "Hadr_endpoint", state_desc: "STARTED", port: 5022 }]);
      await actions.restartEndpoint(ctx(sql).ctx, true, signal);
      expect(sql.names()).to.deep.equal(["offline", "mirroring_endpoint_state", "stop_endpoint", "start_endpoint"]);
    });
  });
});
