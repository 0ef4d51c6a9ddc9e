import { expect } from "chai";
import { AgentMetrics } from "./metrics.js";

describe("agent metrics", () => {
  it("publishes per-database synchronization state and queue sizes in bytes, dropping databases that left", async () => {
    const metrics = new AgentMetrics("test");
    metrics.setDatabaseStates([{ name: "appdb", synchronizationState: "NOT SYNCHRONIZING", logSendQueueKb: 3, redoQueueKb: 2 }]);
    let text = await metrics.registry.metrics();
    expect(text).to.contain('sqlag_agent_database_synchronization_state{database="appdb",state="not_synchronizing"} 1');
    expect(text).to.contain('sqlag_agent_log_send_queue_bytes{database="appdb"} 3072');
    expect(text).to.contain('sqlag_agent_redo_queue_bytes{database="appdb"} 2048');
    metrics.setDatabaseStates([{ name: "other", synchronizationState: "SYNCHRONIZED" }]);
    text = await metrics.registry.metrics();
    expect(text).not.to.contain('database="appdb"');
  });

  it("sets exactly one role and one health verdict to 1", async () => {
    const metrics = new AgentMetrics("test");
    metrics.setRole("PRIMARY");
    metrics.setHealth("healthy");
    const text = await metrics.registry.metrics();
    expect(text).to.contain('sqlag_agent_role{role="primary"} 1');
    expect(text).to.contain('sqlag_agent_role{role="secondary"} 0');
    expect(text).to.contain('sqlag_agent_health{verdict="healthy"} 1');
  });
});
