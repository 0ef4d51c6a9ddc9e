import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { createOwnedDir, reapAbandonedDirs, recordChildPid } from "./run-dirs.js";

describe("reapAbandonedDirs", function () {
  let parent: string;
  beforeEach(function () {
    parent = mkdtempSync(join(tmpdir(), "sqlag-reap-test-"));
  });
  afterEach(function () {
    rmSync(parent, { recursive: true, force: true });
  });

  function deadPid(): number {
    const result = spawnSync("sh", ["-c", "echo $$"], { encoding: "utf8" });
    return Number(result.stdout.trim());
  }

  const cases: { name: string; setUp: () => string; removed: boolean }[] = [
    { name: "keeps a dir owned by a live process", setUp: () => createOwnedDir(parent, "run-"), removed: false },
    {
      name: "removes a dir whose owner has exited",
      setUp: () => {
        const dir = join(parent, "run-dead");
        mkdirSync(dir);
        writeFileSync(join(dir, "owner.pid"), `${deadPid()}\n`);
        return dir;
      },
      removed: true,
    },
    {
      name: "keeps a dir without an owner file",
      setUp: () => {
        const dir = join(parent, "run-unknown");
        mkdirSync(dir);
        return dir;
      },
      removed: false,
    },
    {
      name: "ignores dirs with another prefix",
      setUp: () => {
        const dir = join(parent, "other-dead");
        mkdirSync(dir);
        writeFileSync(join(dir, "owner.pid"), `${deadPid()}\n`);
        return dir;
      },
      removed: false,
    },
  ];
  for (const c of cases) {
    it(c.name, function () {
      const dir = c.setUp();
      const removed = reapAbandonedDirs(parent, "run-");
      expect(removed).to.deep.equal(c.removed ? [dir] : []);
      expect(existsSync(dir)).to.equal(!c.removed);
    });
  }
});

describe("reapAbandonedDirs with recorded children", function () {
  let parent: string;
  const started: number[] = [];
  beforeEach(function () {
    parent = mkdtempSync(join(tmpdir(), "sqlag-reap-test-"));
  });
  afterEach(function () {
    for (const pid of started.splice(0)) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    rmSync(parent, { recursive: true, force: true });
  });

  function startDetached(script: string): number {
    const child = spawn("sh", ["-c", script], { detached: true, stdio: "ignore" });
    child.unref();
    if (child.pid === undefined) throw new Error("spawn failed");
    started.push(child.pid);
    return child.pid;
  }

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

  it("kills a dead run's child that still names the dir, and spares a recycled pid", async function () {
    const dir = join(parent, "run-orphan");
    mkdirSync(dir);
    writeFileSync(join(dir, "owner.pid"), `${spawnSync("sh", ["-c", "echo $$"], { encoding: "utf8" }).stdout}`);
    const orphanPid = startDetached(`sleep 300; : ${dir}`);
    const unrelatedPid = startDetached("sleep 300; : unrelated");
    recordChildPid(dir, orphanPid);
    recordChildPid(dir, unrelatedPid);
    await until(() => isAlive(orphanPid) && isAlive(unrelatedPid));

    expect(reapAbandonedDirs(parent, "run-")).to.deep.equal([dir]);
    await until(() => {
      const state = spawnSync("ps", ["-o", "stat=", "-p", String(orphanPid)], { encoding: "utf8" }).stdout.trim();
      return state === "" || state.startsWith("Z");
    });
    expect(isAlive(unrelatedPid)).to.equal(true);
  });
});
