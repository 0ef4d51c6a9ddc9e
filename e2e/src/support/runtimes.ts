/**
 * The image map the sqlag specs run with: the fake kubelet's defaults, except that the SQL Server image also
 * offers TLS (`--tls-self-signed`). Real SQL Server always negotiates encryption with a self-generated
 * certificate, and the controller renders the agent with SQLAG_SQL_ENCRYPT=true, so an mssql-sim without TLS
 * makes every agent connection fail ("Server did not negotiate encryption"). Remove this override once the
 * kubelet's default mssql runtime passes the flag itself.
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
