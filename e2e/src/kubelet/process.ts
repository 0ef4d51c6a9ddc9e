/**
 * One container = one child process in its own process group (so a signal reaches everything it spawned),
 * stdout and stderr appended to the container's log file. Signals go to the group by pid — never by name.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import path from "node:path";

export interface ProcessExit {
  readonly exitCode: number;
  readonly signal: NodeJS.Signals | null;
}

export interface StartProcessOptions {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
  readonly logPath: string;
}

export class ContainerProcess {
  readonly exited: Promise<ProcessExit>;
  private exitResult: ProcessExit | undefined;
  private frozen = false;

  private constructor(
    child: ChildProcess,
    readonly pid: number,
  ) {
    this.exited = new Promise<ProcessExit>((resolve) => {
      child.once("exit", (code, signal) => {
        // Shell convention: killed by signal N → 128 + N, as container runtimes report it.
        const signalNumbers: Partial<Record<NodeJS.Signals, number>> = { SIGKILL: 9, SIGTERM: 15, SIGINT: 2, SIGABRT: 6, SIGSEGV: 11 };
        const exitCode = code ?? (signal != null ? 128 + (signalNumbers[signal] ?? 1) : 1);
        this.exitResult = { exitCode, signal };
        resolve(this.exitResult);
      });
    });
  }

  static start(options: StartProcessOptions): ContainerProcess {
    mkdirSync(path.dirname(options.logPath), { recursive: true });
    mkdirSync(options.cwd, { recursive: true });
    const logFd = openSync(options.logPath, "a");
    try {
      writeSync(logFd, `--- fake-kubelet: starting ${path.basename(options.command)} ${new Date().toISOString()}\n`);
      const child = spawn(options.command, [...options.args], {
        cwd: options.cwd,
        env: { ...options.env },
        detached: true,
        stdio: ["ignore", logFd, logFd],
      });
      if (child.pid == null) {
        throw new Error(`could not start ${options.command}`);
      }
      const handle = new ContainerProcess(child, child.pid);
      child.on("error", () => undefined);
      return handle;
    } finally {
      // The child holds its own copy of the descriptor.
      closeSync(logFd);
    }
  }

  get running(): boolean {
    return this.exitResult == null;
  }

  get exit(): ProcessExit | undefined {
    return this.exitResult;
  }

  get isFrozen(): boolean {
    return this.frozen;
  }

  /** Sends `signal` to the whole process group; ignores a group that is already gone. */
  signal(signal: NodeJS.Signals): void {
    if (!this.running) return;
    try {
      process.kill(-this.pid, signal);
    } catch {
      // ESRCH: the group exited between the check and the kill.
    }
    if (signal === "SIGSTOP") this.frozen = true;
    if (signal === "SIGCONT") this.frozen = false;
  }

  /** SIGTERM, then SIGKILL after `graceMs` if still running. A frozen process is thawed so it can exit. */
  async terminate(graceMs: number): Promise<ProcessExit> {
    if (!this.running) return this.exitResult ?? { exitCode: 0, signal: null };
    this.signal("SIGTERM");
    if (this.frozen) this.signal("SIGCONT");
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.signal("SIGKILL");
        resolve();
      }, Math.max(0, graceMs));
    });
    await Promise.race([this.exited, killed]);
    clearTimeout(timer);
    return this.exited;
  }

  kill(): Promise<ProcessExit> {
    this.signal("SIGKILL");
    return this.exited;
  }
}
