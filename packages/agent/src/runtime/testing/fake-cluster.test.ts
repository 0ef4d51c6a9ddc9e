import { expect } from "chai";
import { labels } from "@sqlag/api";
import { minimalAvailabilityGroup } from "@sqlag/api/schema/fixtures";
import { KubeUnavailableError } from "@sqlag/kube";
import { FakeClock } from "@sqlag/testkit";
import { FakeCluster } from "./fake-cluster.js";

function cluster(): FakeCluster {
  const cr = minimalAvailabilityGroup();
  cr.metadata = { name: "ag1", namespace: "db" };
  return new FakeCluster({ clock: new FakeClock(), cr });
}

const signal = new AbortController().signal;

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  return undefined;
}

describe("FakeCluster", () => {
  it("starts as the controller leaves things: an empty Lease, one pod per replica with an IP, a Secret with passwords and a peer token", async () => {
    const c = cluster();
    expect(c.leaseRecord()).to.include({ holderIdentity: "", leaseTransitions: 0 });
    expect(c.podNames()).to.deep.equal(["ag1-0", "ag1-1", "ag1-2"]);
    expect(c.pod("ag1-2")?.status?.podIP).to.equal("10.0.0.3");
    const secret = await c.portFor("ag1-0").secretStore().read(signal);
    expect(secret.masterKeyPassword).to.be.a("string").and.not.equal(secret.certificatePassword);
    expect(secret.peerToken).to.be.a("string");
    expect(secret.certificate).to.equal(undefined);
  });

  it("the Lease is shared through the real LeaseClient: a claim on a stale record loses with a conflict, and claims bump the epoch", async () => {
    const c = cluster();
    const a = c.portFor("ag1-0");
    const b = c.portFor("ag1-1");
    const seenByB = b.lease().record!;
    const claimedByA = await a.leaseClient.tryClaim(a.lease().record, "ag1-0", 15, signal);
    expect(claimedByA.ok).to.equal(true);
    const claimedByB = await b.leaseClient.tryClaim(seenByB, "ag1-1", 15, signal);
    expect(claimedByB).to.include({ ok: false, reason: "conflict" });
    expect(b.lease().record).to.include({ holderIdentity: "ag1-0", leaseTransitions: 1 });
    expect(c.leaseRecord()?.renewTime).to.match(/\.\d{6}Z$/);
  });

  it("an agent cut from the API: every write throws KubeUnavailableError, reads keep the last state it saw; restored, it sees the present", async () => {
    const c = cluster();
    const a = c.portFor("ag1-0");
    const b = c.portFor("ag1-1");
    expect(a.lease().record?.holderIdentity).to.equal("");
    c.cutFromApi("ag1-0");
    await b.leaseClient.tryClaim(b.lease().record, "ag1-1", 15, signal);
    await b.patchPodLabels("ag1-1", { [labels.role]: "primary" }, signal);

    expect(a.lease().record?.holderIdentity, "stale Lease view").to.equal("");
    expect(a.pod("ag1-1")?.metadata?.labels ?? {}, "stale pod view").to.not.have.property(labels.role);
    const writes: [string, Promise<unknown>][] = [
      ["lease claim", a.leaseClient.tryClaim(a.lease().record, "ag1-0", 15, signal)],
      ["pod labels", a.patchPodLabels("ag1-0", { [labels.role]: "secondary" }, signal)],
      ["status", a.patchStatus({ phase: "Running" }, signal)],
      ["switchover annotation", a.clearSwitchoverAnnotation(signal)],
      ["certificate", a.secretStore().publishCertificate(Buffer.from("c"), Buffer.from("k"), signal)],
    ];
    for (const [what, write] of writes) expect(await rejection(write), what).to.be.instanceOf(KubeUnavailableError);
    expect(c.status).to.equal(undefined);

    c.restoreApi("ag1-0");
    expect(a.lease().record?.holderIdentity).to.equal("ag1-1");
    expect(a.pod("ag1-1")?.metadata?.labels).to.include({ [labels.role]: "primary" });
  });

  it("the shared certificate is published once: the first agent wins, a different one is refused", async () => {
    const c = cluster();
    expect(await c.portFor("ag1-0").secretStore().publishCertificate(Buffer.from("cert-a"), Buffer.from("key-a"), signal)).to.equal(true);
    expect(await c.portFor("ag1-1").secretStore().publishCertificate(Buffer.from("cert-b"), Buffer.from("key-b"), signal)).to.equal(false);
    const secret = await c.portFor("ag1-2").secretStore().read(signal);
    expect(secret.certificate?.toString()).to.equal("cert-a");
  });

  it("status writes are recorded with their author and merged into the CR status", async () => {
    const c = cluster();
    await c.portFor("ag1-0").patchStatus({ phase: "Bootstrapping" }, signal);
    await c.portFor("ag1-0").patchStatus({ primaryReplica: "ag1-0" }, signal);
    expect(c.statusWrites.map((w) => w.by)).to.deep.equal(["ag1-0", "ag1-0"]);
    expect(c.status).to.deep.equal({ phase: "Bootstrapping", primaryReplica: "ag1-0" });
  });
});
