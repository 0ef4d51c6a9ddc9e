import { expect } from "chai";
import type { V1Pod } from "@kubernetes/client-node";
import {
  defaultImageRuntimes,
  imageRepository,
  ImageRuntimeMap,
  MssqlLaunchError,
  mssqlSimRuntime,
  nodeScriptRuntime,
  resolveFakeMountPath,
  UnmappedImageError,
  type ContainerLaunchContext,
} from "./runtime.js";
import { containerMounts, VolumeSetupError } from "./volumes.js";

describe("imageRepository", () => {
  const cases = [
    { image: "mcr.microsoft.com/mssql/server:2022-latest", expected: "mcr.microsoft.com/mssql/server" },
    { image: "localhost:5000/agent:1", expected: "localhost:5000/agent" },
    { image: "localhost:5000/agent", expected: "localhost:5000/agent" },
    { image: "ghcr.io/sqlag/agent@sha256:abc", expected: "ghcr.io/sqlag/agent" },
  ];
  for (const testCase of cases) it(testCase.image, () => expect(imageRepository(testCase.image)).to.equal(testCase.expected));
});

describe("ImageRuntimeMap", () => {
  const runtimes = defaultImageRuntimes({ repoRoot: "/repo", nodeBinary: "/bin/node" });
  const cases = [
    { image: "mcr.microsoft.com/mssql/server:2022-CU14-ubuntu-22.04", runtime: "mssql-sim" },
    { image: "ghcr.io/sqlag/agent:0.1.0", runtime: "agent" },
    { image: "ghcr.io/sqlag/controller:latest", runtime: "controller" },
    { image: "sqlag.test/echo:1", runtime: "echo" },
    { image: "sqlag.test/kv:1", runtime: "kv-test-server" },
  ];
  for (const testCase of cases) it(`maps ${testCase.image}`, () => expect(runtimes.resolve(testCase.image).name).to.equal(testCase.runtime));

  it("refuses an unmapped image with a message naming it", () => {
    expect(() => runtimes.resolve("docker.io/library/nginx:1")).to.throw(UnmappedImageError, 'image "docker.io/library/nginx:1" is not mapped');
  });
  it("lets later registrations and prefix patterns win", () => {
    const map = new ImageRuntimeMap([{ imagePattern: "example.com/a", runtime: nodeScriptRuntime("old", "/old.js") }]);
    map.register("example.com/*", nodeScriptRuntime("new", "/new.js"));
    expect(map.resolve("example.com/a:1").name).to.equal("new");
  });
});

function context(extra: Partial<ContainerLaunchContext> = {}): ContainerLaunchContext {
  const pod: V1Pod = { metadata: { name: "ag-0", namespace: "db" }, spec: { containers: [] } };
  return {
    pod,
    container: { name: "mssql", image: "mcr.microsoft.com/mssql/server:2022-latest", ports: [{ name: "mssql", containerPort: 1433 }], args: ["--x"] },
    podIp: "127.0.16.5",
    env: new Map([["MSSQL_SA_PASSWORD", "pw"]]),
    mounts: { "/var/opt/mssql": "/work/pvc/db/data-ag-0" },
    containerDir: "/work/pods/db_ag-0/u/containers/mssql",
    reservedPort: 40123,
    hosts: { "ag-0.ag-hl.db.svc.cluster.local": "127.0.16.5", "ag-1.ag-hl.db.svc.cluster.local": "127.0.16.6" },
    ...extra,
  };
}

describe("runtimes", () => {
  it("launches mssql-sim on the pod IP with the PVC as data dir and a reserved admin port", () => {
    const launch = mssqlSimRuntime("/repo/packages/mssql-sim/dist/cli.js", "/bin/node").launch(context());
    expect(launch.command).to.equal("/bin/node");
    expect(launch.args).to.deep.equal([
      "/repo/packages/mssql-sim/dist/cli.js", "serve", "--name", "ag-0", "--host", "127.0.16.5", "--port", "1433",
      "--data-dir", "/work/pvc/db/data-ag-0", "--sa-password", "pw", "--admin-port", "40123", "--tls-self-signed",
      "--hosts", "ag-0.ag-hl.db.svc.cluster.local=127.0.16.5,ag-1.ag-hl.db.svc.cluster.local=127.0.16.6",
    ]);
    expect(launch.adminPort).to.equal(40123);
  });
  it("refuses to launch mssql without an SA password", () => {
    expect(() => mssqlSimRuntime("/cli.js").launch(context({ env: new Map() }))).to.throw(MssqlLaunchError, /MSSQL_SA_PASSWORD/);
  });
  it("runs node programs with the container args (the image entrypoint is replaced)", () => {
    const launch = nodeScriptRuntime("agent", "/repo/packages/agent/dist/main.js", "/bin/node").launch(context());
    expect([launch.command, ...launch.args]).to.deep.equal(["/bin/node", "/repo/packages/agent/dist/main.js", "--x"]);
  });
});

describe("resolveFakeMountPath", () => {
  const mounts = { "/etc/sqlag": "/h/conf", "/etc/sqlag/tls": "/h/tls", "/var/opt/mssql/mssql.conf": "/h/cm/mssql.conf" };
  const cases = [
    { path: "/etc/sqlag/agent.yaml", expected: "/h/conf/agent.yaml" },
    { path: "/etc/sqlag/tls/tls.crt", expected: "/h/tls/tls.crt" },
    { path: "/var/opt/mssql/mssql.conf", expected: "/h/cm/mssql.conf" },
    { path: "/etc/sqlagx/file", expected: undefined },
    { path: "/nowhere", expected: undefined },
  ];
  for (const testCase of cases) it(`${testCase.path} → ${String(testCase.expected)}`, () => expect(resolveFakeMountPath(mounts, testCase.path)).to.equal(testCase.expected));
});

describe("containerMounts", () => {
  it("maps mount paths to volume dirs and honours subPath", () => {
    const mounts = containerMounts(
      { name: "c", volumeMounts: [{ name: "conf", mountPath: "/etc/conf" }, { name: "conf", mountPath: "/etc/one.conf", subPath: "one.conf" }] },
      new Map([["conf", "/v/conf"]]),
    );
    expect(mounts).to.deep.equal({ "/etc/conf": "/v/conf", "/etc/one.conf": "/v/conf/one.conf" });
  });
  it("fails clearly on an unknown volume", () => {
    expect(() => containerMounts({ name: "c", volumeMounts: [{ name: "x", mountPath: "/x" }] }, new Map())).to.throw(VolumeSetupError, /unknown volume "x"/);
  });
});
