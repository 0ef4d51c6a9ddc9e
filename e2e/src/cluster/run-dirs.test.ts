import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { createOwnedDir, reapAbandonedDirs } from "./run-dirs.js";

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
