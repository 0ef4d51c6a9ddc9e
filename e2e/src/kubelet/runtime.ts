/**
 * Image → program mapping. There is no container engine here: each image the tests use is mapped to a local
 * program started as a child process on the pod's loopback IP. An image with no mapping cannot run, and the
 * pod reports it the way a kubelet reports an image it may not pull (`ErrImageNeverPull`).
 *
 * Programs cannot see mounts, so the kubelet passes them hints through the environment (besides KUBECONFIG):
 * - `SQLAG_FAKE_MOUNTS`: JSON object {mountPath: hostPath}; our programs resolve file paths through it
 *   (longest mountPath prefix wins) — see `resolveFakeMountPath`.
 * - `SQLAG_FAKE_POD_IP`: the address to listen on (real pods listen on 0.0.0.0 in their own network namespace).
 * - `SQLAG_FAKE_DNS_FILE`: a JSON object {hostname: ip} with the pods' DNS names (`<pod>.<svc>.<ns>.svc.<domain>`
 *   and shorter forms), rewritten atomically as pods come and go; there is no cluster DNS.
 */
import path from "node:path";
import type { V1Container, V1Pod } from "@kubernetes/client-node";

export class UnmappedImageError extends Error {
  constructor(readonly image: string) {
    super(`image "${image}" is not mapped to a local program in the fake kubelet's ImageRuntimeMap, so it can never be pulled`);
    this.name = "UnmappedImageError";
  }
}

/** What the runtime knows when it turns a container into a process. */
export interface ContainerLaunchContext {
  readonly pod: V1Pod;
  readonly container: V1Container;
  readonly podIp: string;
  /** Resolved container environment (env + envFrom), before the kubelet's own additions. */
  readonly env: ReadonlyMap<string, string>;
  /** mountPath → host path for this container. */
  readonly mounts: Readonly<Record<string, string>>;
  /** Directory the kubelet created for this container (scratch space, cwd). */
  readonly containerDir: string;
  /** A free loopback TCP port reserved for the runtime's own use (e.g. mssql-sim's admin API). */
  readonly reservedPort: number;
  /** Pod DNS names → bindable IPs known when the container starts (the fake kubelet's DNS table). */
  readonly hosts: Readonly<Record<string, string>>;
}

export interface LaunchSpec {
  readonly command: string;
  readonly args: readonly string[];
  /** Added to the container environment. */
  readonly extraEnv?: Readonly<Record<string, string>>;
  /** Recorded on the container handle so faults can reach the program (e.g. mssql-sim admin). */
  readonly adminPort?: number;
}

export interface ContainerRuntime {
  /** Human-readable name for logs and events. */
  readonly name: string;
  launch(context: ContainerLaunchContext): LaunchSpec;
}

export interface ImageRuntimeEntry {
  /** Image reference without a tag/digest (exact), or ending in `*` for a prefix match. */
  readonly imagePattern: string;
  readonly runtime: ContainerRuntime;
}

export function imageRepository(image: string): string {
  const withoutDigest = image.split("@")[0] ?? image;
  const lastSlash = withoutDigest.lastIndexOf("/");
  const lastColon = withoutDigest.lastIndexOf(":");
  return lastColon > lastSlash ? withoutDigest.slice(0, lastColon) : withoutDigest;
}

export class ImageRuntimeMap {
  private readonly entries: ImageRuntimeEntry[];

  constructor(entries: readonly ImageRuntimeEntry[] = []) {
    this.entries = [...entries];
  }

  /** Later registrations win, so tests can override a default mapping. */
  register(imagePattern: string, runtime: ContainerRuntime): this {
    this.entries.unshift({ imagePattern, runtime });
    return this;
  }

  resolve(image: string): ContainerRuntime {
    const repository = imageRepository(image);
    for (const entry of this.entries) {
      const pattern = entry.imagePattern;
      const matches = pattern.endsWith("*") ? image.startsWith(pattern.slice(0, -1)) : pattern === repository || pattern === image;
      if (matches) return entry.runtime;
    }
    throw new UnmappedImageError(image);
  }
}

/** Runs `node <script> <container args>`; the image's own entrypoint (container `command`) is replaced. */
export function nodeScriptRuntime(name: string, scriptPath: string, nodeBinary = process.execPath): ContainerRuntime {
  return {
    name,
    launch: (context) => ({ command: nodeBinary, args: [scriptPath, ...(context.container.args ?? [])] }),
  };
}

export class MssqlLaunchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MssqlLaunchError";
  }
}

/** SQL Server's data directory inside the image; the PVC mounted there becomes the simulator's data dir. */
export const mssqlDataMountPath = "/var/opt/mssql";

/** The mssql-sim `serve` process for `mcr.microsoft.com/mssql/server:*`. */
export function mssqlSimRuntime(cliPath: string, nodeBinary = process.execPath): ContainerRuntime {
  return {
    name: "mssql-sim",
    launch: (context) => {
      const password = context.env.get("MSSQL_SA_PASSWORD");
      if (password == null || password === "") {
        throw new MssqlLaunchError("the mssql container needs MSSQL_SA_PASSWORD in its environment");
      }
      const dataDir = resolveFakeMountPath(context.mounts, mssqlDataMountPath) ?? path.join(context.containerDir, "data");
      const port = (context.container.ports ?? []).find((candidate) => candidate.name === "mssql" || candidate.containerPort === 1433)?.containerPort ?? 1433;
      return {
        command: nodeBinary,
        args: [
          cliPath,
          "serve",
          "--name",
          context.pod.metadata?.name ?? "mssql",
          "--host",
          context.podIp,
          "--port",
          String(port),
          "--data-dir",
          dataDir,
          "--sa-password",
          password,
          "--admin-port",
          String(context.reservedPort),
          // Real SQL Server always offers TLS with a self-generated certificate; clients use encrypt=true.
          "--tls-self-signed",
          ...hostsArgs(context.hosts),
        ],
        adminPort: context.reservedPort,
      };
    },
  };
}

/**
 * `--hosts name=ip,…` so ENDPOINT_URLs (`TCP://<pod>.<ag>-hl.<ns>.svc.<domain>:5022`) resolve from the start;
 * the kubelet pushes later changes through the admin API (`POST /v1/hosts`) and keeps re-created pods on their
 * old IP when it can.
 */
function hostsArgs(hosts: Readonly<Record<string, string>>): string[] {
  const entries = Object.entries(hosts).map(([name, ip]) => `${name}=${ip}`);
  return entries.length > 0 ? ["--hosts", entries.join(",")] : [];
}

/** The `sqlag.test/kv` test image: a TDS key-value server with the mssql-sim admin shape (testdata/kv-server). */
export function kvTestServerRuntime(scriptPath: string, nodeBinary = process.execPath): ContainerRuntime {
  return {
    name: "kv-test-server",
    launch: (context) => ({
      command: nodeBinary,
      args: [
        scriptPath,
        "--name",
        context.pod.metadata?.name ?? "kv",
        "--host",
        context.podIp,
        "--port",
        "1433",
        "--admin-port",
        String(context.reservedPort),
        "--sa-password",
        context.env.get("MSSQL_SA_PASSWORD") ?? "",
      ],
      adminPort: context.reservedPort,
    }),
  };
}

export interface DefaultRuntimeOptions {
  /** Repository root (contains packages/ and e2e/). */
  readonly repoRoot: string;
  readonly nodeBinary?: string;
}

/** The mappings every e2e test needs: SQL Server, our agent and controller, and the echo test image. */
export function defaultImageRuntimes(options: DefaultRuntimeOptions): ImageRuntimeMap {
  const node = options.nodeBinary ?? process.execPath;
  const root = options.repoRoot;
  return new ImageRuntimeMap([
    { imagePattern: "mcr.microsoft.com/mssql/server", runtime: mssqlSimRuntime(path.join(root, "packages/mssql-sim/dist/cli.js"), node) },
    { imagePattern: "ghcr.io/sqlag/agent", runtime: nodeScriptRuntime("agent", path.join(root, "packages/agent/dist/main.js"), node) },
    { imagePattern: "ghcr.io/sqlag/controller", runtime: nodeScriptRuntime("controller", path.join(root, "packages/controller/dist/main.js"), node) },
    { imagePattern: "sqlag.test/echo", runtime: nodeScriptRuntime("echo", path.join(root, "e2e/dist/kubelet/testdata/echo-server.js"), node) },
    { imagePattern: "sqlag.test/kv", runtime: kvTestServerRuntime(path.join(root, "e2e/dist/kubelet/testdata/kv-server.js"), node) },
  ]);
}

/**
 * Maps a path as the program sees it in the container to the host path, through `SQLAG_FAKE_MOUNTS`
 * (longest matching mountPath wins). Returns undefined when no mount covers the path.
 */
export function resolveFakeMountPath(mounts: Readonly<Record<string, string>>, containerPath: string): string | undefined {
  let best: string | undefined;
  for (const mountPath of Object.keys(mounts)) {
    const normalized = mountPath.endsWith("/") && mountPath.length > 1 ? mountPath.slice(0, -1) : mountPath;
    const covers = containerPath === normalized || containerPath.startsWith(normalized === "/" ? "/" : `${normalized}/`);
    if (covers && (best == null || normalized.length > best.length)) best = normalized;
  }
  if (best == null) return undefined;
  const hostBase = mounts[best] ?? mounts[`${best}/`];
  if (hostBase == null) return undefined;
  return path.join(hostBase, containerPath.slice(best.length));
}
