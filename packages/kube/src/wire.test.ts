/**
 * Wire-level checks of the adapters against a local HTTP server standing in for kube-apiserver: the exact
 * method, path, query, content type and body each call sends, and that a request timeout aborts the call.
 * (The real apiserver tier lives in e2e/.)
 */
import { expect } from "chai";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import { FakeClock } from "@sqlag/testkit";
import { KubeObjectWriter } from "./apply.js";
import { KubeUnavailableError } from "./errors.js";
import { createLeaseClient } from "./lease-client.js";

interface Seen {
  method: string;
  url: string;
  contentType: string | undefined;
  body: string;
}

type Handler = (req: Seen, res: ServerResponse) => void;

async function withServer(handler: Handler, run: (kc: KubeConfig, seen: Seen[]) => Promise<void>): Promise<void> {
  const seen: Seen[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const entry = { method: req.method ?? "", url: req.url ?? "", contentType: req.headers["content-type"], body: Buffer.concat(chunks).toString("utf8") };
      seen.push(entry);
      handler(entry, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "c", server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: "u", token: "t" }],
    contexts: [{ name: "x", cluster: "c", user: "u" }],
    currentContext: "x",
  });
  try {
    await run(kc, seen);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

const APPS_V1_RESOURCES = {
  kind: "APIResourceList",
  groupVersion: "apps/v1",
  resources: [{ name: "statefulsets", singularName: "statefulset", namespaced: true, kind: "StatefulSet", verbs: ["create", "get", "patch"] }],
};

describe("adapters on the wire", () => {
  it("LeaseClient replaces with resourceVersion and six-digit MicroTime, and maps 409 to conflict", async () => {
    let replaceStatus = 200;
    await withServer(
      (req, res) => {
        if (req.method === "GET") {
          json(res, 200, { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: "l", namespace: "ns", resourceVersion: "41" }, spec: { holderIdentity: "", leaseTransitions: 2, renewTime: "2026-01-01T00:00:00.123456Z" } });
        } else if (replaceStatus === 409) {
          json(res, 409, { kind: "Status", apiVersion: "v1", status: "Failure", reason: "Conflict", code: 409, message: "the object has been modified" });
        } else {
          json(res, 200, { ...JSON.parse(req.body), metadata: { ...JSON.parse(req.body).metadata, resourceVersion: "42" } });
        }
      },
      async (kc, seen) => {
        const client = createLeaseClient(kc, "ns", "l", new FakeClock());
        const observed = await client.read(AbortSignal.timeout(5_000));
        expect(observed?.renewTime).to.equal("2026-01-01T00:00:00.123456Z");
        if (observed === undefined) throw new Error("no lease");
        const claimed = await client.tryClaim(observed, "me", 15, AbortSignal.timeout(5_000));
        expect(claimed.ok && claimed.record.resourceVersion).to.equal("42");
        const put = seen[1];
        expect(put?.method).to.equal("PUT");
        expect(put?.url).to.equal("/apis/coordination.k8s.io/v1/namespaces/ns/leases/l");
        const body = JSON.parse(put?.body ?? "{}");
        expect(body.metadata.resourceVersion).to.equal("41");
        expect(body.spec).to.deep.include({ holderIdentity: "me", leaseDurationSeconds: 15, leaseTransitions: 3, renewTime: "2026-01-01T00:00:00.000000Z" });
        replaceStatus = 409;
        const lost = await client.tryClaim(observed, "me", 15, AbortSignal.timeout(5_000));
        expect(lost).to.deep.include({ ok: false, reason: "conflict" });
      },
    );
  });

  it("the AbortSignal of a call aborts a hung request as KubeUnavailableError", async () => {
    await withServer(
      () => undefined, // never answers
      async (kc) => {
        const client = createLeaseClient(kc, "ns", "l", new FakeClock());
        let thrown: unknown;
        try {
          await client.read(AbortSignal.timeout(200));
        } catch (e) {
          thrown = e;
        }
        expect(thrown).to.be.instanceOf(KubeUnavailableError);
      },
    );
  });

  it("applyObject sends a server-side apply patch with fieldManager and force", async () => {
    await withServer(
      (req, res) => {
        if (req.method === "GET" && req.url.startsWith("/apis/apps/v1")) json(res, 200, APPS_V1_RESOURCES);
        else json(res, 200, JSON.parse(req.body));
      },
      async (kc, seen) => {
        const writer = KubeObjectWriter.fromKubeConfig(kc);
        await writer.applyObject(
          { apiVersion: "apps/v1", kind: "StatefulSet", metadata: { name: "ag1", namespace: "db", resourceVersion: "9", managedFields: [] } } as never,
          "sqlag-controller",
          AbortSignal.timeout(5_000),
        );
        const patch = seen.find((s) => s.method === "PATCH");
        expect(patch?.url).to.equal("/apis/apps/v1/namespaces/db/statefulsets/ag1?fieldManager=sqlag-controller&force=true");
        expect(patch?.contentType).to.equal("application/apply-patch+yaml");
        const body = JSON.parse(patch?.body ?? "{}");
        expect(body.metadata).to.deep.equal({ name: "ag1", namespace: "db" });
      },
    );
  });

  it("createIfMissing treats 409 AlreadyExists as exists", async () => {
    await withServer(
      (req, res) => {
        if (req.method === "GET") json(res, 200, { kind: "APIResourceList", groupVersion: "v1", resources: [{ name: "secrets", singularName: "secret", namespaced: true, kind: "Secret", verbs: ["create", "get"] }] });
        else json(res, 409, { kind: "Status", apiVersion: "v1", status: "Failure", reason: "AlreadyExists", code: 409 });
      },
      async (kc, seen) => {
        const writer = KubeObjectWriter.fromKubeConfig(kc);
        const result = await writer.createIfMissing({ apiVersion: "v1", kind: "Secret", metadata: { name: "ag1-hadr", namespace: "db" } }, "sqlag-controller", AbortSignal.timeout(5_000));
        expect(result).to.equal("exists");
        const post = seen.find((s) => s.method === "POST");
        expect(post?.url).to.equal("/api/v1/namespaces/db/secrets?fieldManager=sqlag-controller");
      },
    );
  });

  it("patchStatus applies only the given fields to the status subresource", async () => {
    await withServer(
      (req, res) => json(res, 200, JSON.parse(req.body)),
      async (kc, seen) => {
        const writer = KubeObjectWriter.fromKubeConfig(kc);
        const ref = { group: "sqlag.io", version: "v1alpha1", kind: "SQLServerAvailabilityGroup", plural: "sqlserveravailabilitygroups", namespace: "db", name: "ag1" };
        await writer.patchStatus(ref, { observedGeneration: 4 }, "sqlag-controller", AbortSignal.timeout(5_000));
        const patch = seen[0];
        expect(patch?.method).to.equal("PATCH");
        expect(patch?.url).to.equal("/apis/sqlag.io/v1alpha1/namespaces/db/sqlserveravailabilitygroups/ag1/status?fieldManager=sqlag-controller&force=true");
        expect(patch?.contentType).to.equal("application/apply-patch+yaml");
        expect(JSON.parse(patch?.body ?? "{}")).to.deep.equal({ apiVersion: "sqlag.io/v1alpha1", kind: "SQLServerAvailabilityGroup", metadata: { name: "ag1", namespace: "db" }, status: { observedGeneration: 4 } });
      },
    );
  });
});
