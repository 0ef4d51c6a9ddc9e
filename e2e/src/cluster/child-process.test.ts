import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { ChildExitedError, SupervisedChild } from "./child-process.js";

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 20));
}

describe("SupervisedChild", function () {
  let dir: string;
  beforeEach(function () {
    dir = mkdtempSync(join(tmpdir(), "sqlag-child-test-"));
  });
  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  it("writes stdout and stderr to its log file", async function () {
    const logPath = join(dir, "echo.log");
    const child = SupervisedChild.start({ name: "echo", binary: "sh", args: ["-c", "echo out; echo err >&2"], logPath });
    await until(() => child.exitedWith !== undefined);
    expect(child.exitedWith).to.equal("exit code 0");
    expect(readFileSync(logPath, "utf8")).to.equal("out\nerr\n");
  });

  it("stop() ends the whole process group, grandchildren included", async function () {
    const pidFile = join(dir, "grandchild.pid");
    const child = SupervisedChild.start({
      name: "tree",
      binary: "sh",
      args: ["-c", `sleep 300 & echo $! > ${pidFile}; wait`],
      logPath: join(dir, "tree.log"),
    });
    await until(() => /^\d+\n$/.test(readFileSafe(pidFile)));
    const grandchildPid = Number(readFileSafe(pidFile));
    expect(isAlive(grandchildPid)).to.equal(true);
    await child.stop();
    expect(child.exitedWith).to.equal("signal SIGTERM");
    await until(() => !isAlive(grandchildPid));
  });

  it("stop() escalates to SIGKILL when SIGTERM is ignored", async function () {
    const readyFile = join(dir, "ready");
    const child = SupervisedChild.start({
      name: "stubborn",
      binary: "sh",
      args: ["-c", `trap '' TERM; touch ${readyFile}; while true; do sleep 1; done`],
      logPath: join(dir, "stubborn.log"),
    });
    await until(() => readFileSafe(readyFile) !== "missing");
    await child.stop(200);
    expect(child.exitedWith).to.equal("signal SIGKILL");
  });

  it("assertRunning() reports an early exit with the log tail", async function () {
    const child = SupervisedChild.start({
      name: "crasher",
      binary: "sh",
      args: ["-c", "echo 'bind: address already in use' >&2; exit 3"],
      logPath: join(dir, "crasher.log"),
    });
    await until(() => child.exitedWith !== undefined);
    expect(() => child.assertRunning())
      .to.throw(ChildExitedError)
      .with.property("message")
      .that.matches(/crasher exited during startup \(exit code 3\)[\s\S]*address already in use/);
  });
});

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "missing";
  }
}
