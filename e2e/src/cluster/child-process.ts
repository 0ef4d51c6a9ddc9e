/**
 * Supervised child processes for the test control plane.
 *
 * Every child runs in its own process group (detached) so that stopping it also stops anything it forked, and so
 * that a Ctrl-C on the terminal reaches only the Node process, which then tears the children down in order.
 * Children are always stopped by their pid / process group id, never by name: several control planes (and other
 * engineers' processes) share the machine.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";

export class ChildExitedError extends Error {
  constructor(
    readonly childName: string,
    readonly exitDescription: string,
    readonly logTail: string,
  ) {
    super(`${childName} exited during startup (${exitDescription}); last log lines:\n${logTail}`);
    this.name = "ChildExitedError";
  }
}

export interface ChildSpec {
  readonly name: string;
  readonly binary: string;
  readonly args: readonly string[];
  readonly logPath: string;
  readonly env?: NodeJS.ProcessEnv;
}

export class SupervisedChild {
  private exitDescription: string | undefined;
  private readonly exited: Promise<void>;

  private constructor(
    readonly spec: ChildSpec,
    readonly pid: number,
    private readonly process: ChildProcess,
    onExit: (resolve: () => void, setDescription: (d: string) => void) => void,
  ) {
    this.exited = new Promise<void>((resolve) => onExit(resolve, (d) => (this.exitDescription = d)));
  }

  static start(spec: ChildSpec): SupervisedChild {
    const logFd = openSync(spec.logPath, "a");
    try {
      const child = spawn(spec.binary, [...spec.args], {
        detached: true,
        stdio: ["ignore", logFd, logFd],
        env: spec.env ?? process.env,
      });
      if (child.pid === undefined) {
        throw new Error(`could not spawn ${spec.name} (${spec.binary})`);
      }
      const supervised = new SupervisedChild(spec, child.pid, child, (resolve, setDescription) => {
        child.once("exit", (code, signal) => {
          setDescription(signal != null ? `signal ${signal}` : `exit code ${code}`);
          liveChildren.delete(supervised);
          resolve();
        });
      });
      child.once("error", (error) => {
        supervised.exitDescription = `spawn error: ${error.message}`;
      });
      // The child must not keep the test runner alive on its own; stop() and the exit hook own its lifetime.
      child.unref();
      liveChildren.add(supervised);
      installExitHooks();
      return supervised;
    } finally {
      closeSync(logFd);
    }
  }

  /** undefined while running; a description such as "exit code 1" or "signal SIGKILL" afterwards. */
  get exitedWith(): string | undefined {
    return this.exitDescription;
  }

  /** Throws a ChildExitedError (with the log tail) if the process has already exited. */
  assertRunning(): void {
    if (this.exitDescription !== undefined) {
      throw new ChildExitedError(this.spec.name, this.exitDescription, this.logTail());
    }
  }

  logTail(lineCount = 30): string {
    try {
      return readFileSync(this.spec.logPath, "utf8").trimEnd().split("\n").slice(-lineCount).join("\n");
    } catch {
      return "(no log)";
    }
  }

  /** SIGTERM to the process group, SIGKILL after graceMs. Resolves once the process has exited. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.exitDescription !== undefined) return;
    // While stopping, the child must keep the event loop alive: otherwise Node may exit in the middle of the
    // wait, and the exit hook SIGKILLs everything before stop() could clean up (seen as leftover temp dirs).
    this.process.ref();
    signalGroup(this.pid, "SIGTERM");
    let graceTimer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.exited.then(() => false),
      new Promise<boolean>((resolve) => (graceTimer = setTimeout(() => resolve(true), graceMs))),
    ]);
    clearTimeout(graceTimer);
    if (timedOut) {
      signalGroup(this.pid, "SIGKILL");
      await this.exited;
    }
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}

const liveChildren = new Set<SupervisedChild>();
let exitHooksInstalled = false;

/** Kills every live child synchronously; used when the Node process goes away without calling stop(). */
export function killAllChildrenNow(): void {
  for (const child of liveChildren) signalGroup(child.pid, "SIGKILL");
}

/**
 * 'exit' covers normal termination and process.exit(). SIGINT/SIGTERM/SIGHUP would otherwise end Node without an
 * 'exit' event and leave detached children running, so kill them and then re-raise the signal with the default
 * disposition. A SIGKILL of the Node process cannot be caught; the children then outlive it (see
 * docs/test-control-plane.md).
 */
function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on("exit", killAllChildrenNow);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, function onSignal() {
      // When someone else handles the signal (the CLI stops the control plane gracefully), leave it to them.
      if (process.listenerCount(signal) > 1) return;
      killAllChildrenNow();
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    });
  }
}
