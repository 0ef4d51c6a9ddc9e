/**
 * The image map the sqlag specs (and the playground) run with: the fake kubelet's defaults, with the SQL Server
 * image guaranteed to offer TLS (`--tls-self-signed`). Real SQL Server always negotiates encryption with a
 * self-generated certificate and the controller renders the agent with SQLAG_SQL_ENCRYPT=true, so an mssql-sim
 * without TLS fails every agent connection ("Server did not negotiate encryption"). The kubelet's default runtime
 * passes the flag itself since 7bbf3fe; the wrapper adds it only when missing, so it is a no-op today.
 */
import { defaultImageRuntimes, type ContainerRuntime, type ImageRuntimeMap } from "../kubelet/runtime.js";
import { repoRoot } from "./manifests.js";

export const mssqlImageRepository = "mcr.microsoft.com/mssql/server";

function withSelfSignedTls(base: ContainerRuntime): ContainerRuntime {
  return {
    name: `${base.name}+tls`,
    launch: (context) => {
      const spec = base.launch(context);
      return spec.args.includes("--tls-self-signed") ? spec : { ...spec, args: [...spec.args, "--tls-self-signed"] };
    },
  };
}

export function sqlagImageRuntimes(): ImageRuntimeMap {
  const runtimes = defaultImageRuntimes({ repoRoot });
  return runtimes.register(mssqlImageRepository, withSelfSignedTls(runtimes.resolve(`${mssqlImageRepository}:latest`)));
}
