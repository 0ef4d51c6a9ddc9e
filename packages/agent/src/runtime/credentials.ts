/**
 * How the agent logs in to its local SQL Server (ARCHITECTURE §4.6): as its own login `sqlag_agent`, whose
 * password the controller generated into the `<ag>-hadr` Secret. `sa` is used only to create or repair that
 * login (first start, or after the Secret was recreated), so rotating the SA password never breaks the agent.
 *
 * The agent login is made a member of sysadmin: bootstrap creates the master key, certificates, endpoint,
 * logins, databases and the AG, which together require server-level control; the narrower Pacemaker grants
 * (ALTER/CONTROL/VIEW DEFINITION on the AG, VIEW SERVER STATE) would not cover them.
 */
import { sqlObjectNames } from "@sqlag/api";
import { SqlConnection, type SqlEndpointOptions } from "../sql/connection.js";
import { SqlUnavailableError, isSqlError, sqlErrors } from "../sql/errors.js";
import * as st from "../sql/statements.js";

export interface CredentialSource {
  saPassword(): string;
  /** Undefined until the `<ag>-hadr` Secret was read. */
  agentLoginPassword(): string | undefined;
}

export type EndpointBase = Omit<SqlEndpointOptions, "userName" | "password" | "appName">;

export async function ensureAgentLogin(base: EndpointBase, saPassword: string, agentPassword: string, signal?: AbortSignal): Promise<void> {
  const sa = await SqlConnection.open({ ...base, userName: "sa", password: saPassword, appName: "sqlag-agent-setup" }, signal);
  try {
    const exists = (
      await sa.query(
        { name: "agent_login_exists", sql: "SELECT COUNT(*) AS n FROM sys.server_principals WHERE name = @login", params: { login: { type: "nvarchar", value: sqlObjectNames.agentLogin } } },
        signal !== undefined ? { signal } : {},
      )
    )[0]?.["n"];
    if (Number(exists) > 0) {
      await sa.execute(st.alterLoginPassword(sqlObjectNames.agentLogin, agentPassword), signal !== undefined ? { signal } : {});
    } else {
      try {
        await sa.execute(st.createLoginWithPassword(sqlObjectNames.agentLogin, agentPassword), signal !== undefined ? { signal } : {});
      } catch (e) {
        if (!isSqlError(e, sqlErrors.principalExists)) throw e;
        await sa.execute(st.alterLoginPassword(sqlObjectNames.agentLogin, agentPassword), signal !== undefined ? { signal } : {});
      }
    }
    await sa.execute(st.addLoginToSysadmin(sqlObjectNames.agentLogin), signal !== undefined ? { signal } : {});
  } finally {
    await sa.close();
  }
}

/** Opens a connection as the agent login, creating/repairing it with sa when the login is refused. */
export function agentConnectionOpener(base: EndpointBase, credentials: CredentialSource, appName: string): (signal?: AbortSignal) => Promise<SqlConnection> {
  return async (signal) => {
    const agentPassword = credentials.agentLoginPassword();
    if (agentPassword === undefined) {
      // Before the Secret is readable: sa keeps observation going; nothing is created with it here.
      return SqlConnection.open({ ...base, userName: "sa", password: credentials.saPassword(), appName }, signal);
    }
    try {
      return await SqlConnection.open({ ...base, userName: sqlObjectNames.agentLogin, password: agentPassword, appName }, signal);
    } catch (e) {
      if (!(e instanceof SqlUnavailableError) || e.reason !== "login") throw e;
      await ensureAgentLogin(base, credentials.saPassword(), agentPassword, signal);
      return SqlConnection.open({ ...base, userName: sqlObjectNames.agentLogin, password: agentPassword, appName }, signal);
    }
  };
}
