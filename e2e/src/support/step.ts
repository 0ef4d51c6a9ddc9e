/**
 * Named steps and per-spec wall time for the e2e specs. A failing e2e test is diagnosed from its log, so every
 * step says what it waits for and how long it took; the per-spec total keeps the suite's cost visible.
 */
import { performance } from "node:perf_hooks";

export type StepLogger = (line: string) => void;

const defaultLogger: StepLogger = (line) => process.stderr.write(`${line}\n`);

export class StepFailedError extends Error {
  constructor(
    readonly stepName: string,
    elapsedMs: number,
    options: { cause: unknown },
  ) {
    super(`step "${stepName}" failed after ${Math.round(elapsedMs)} ms: ${describeError(options.cause)}`, options);
    this.name = "StepFailedError";
  }
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const body = (error as { body?: unknown }).body;
    const bodyText = typeof body === "string" ? body : body !== undefined ? JSON.stringify(body) : "";
    return bodyText !== "" && !error.message.includes(bodyText) ? `${error.message} (${bodyText})` : error.message;
  }
  return String(error);
}

/** Runs `action`, logging its name and duration; a failure is rethrown wrapped with the step name. */
export async function step<T>(name: string, action: () => Promise<T> | T, log: StepLogger = defaultLogger): Promise<T> {
  const startedMs = performance.now();
  log(`      · ${name} …`);
  try {
    const result = await action();
    log(`      ✓ ${name} (${Math.round(performance.now() - startedMs)} ms)`);
    return result;
  } catch (error) {
    const elapsedMs = performance.now() - startedMs;
    log(`      ✗ ${name} (${Math.round(elapsedMs)} ms)`);
    throw new StepFailedError(name, elapsedMs, { cause: error });
  }
}

/** Prints a line for the lead (agent status, rendered objects): information, not an assertion. */
export function note(line: string, log: StepLogger = defaultLogger): void {
  log(`      ℹ ${line}`);
}

/**
 * Registers before/after hooks in the current describe that print its wall time (setup and teardown included).
 * Call it first in the describe so the before hook runs before the spec's own setup.
 */
export function reportSpecWallTime(specName: string, log: StepLogger = defaultLogger): void {
  let startedMs = 0;
  before(function () {
    startedMs = performance.now();
  });
  after(function () {
    log(`    ⏱ ${specName}: ${((performance.now() - startedMs) / 1000).toFixed(1)} s wall time`);
  });
}
