/**
 * A hand-written SQL double for runtime unit tests: answers statements by their stable `name` from a table
 * the test fills, records every statement sent (name and text) so tests can assert on the statement log, and
 * can fail a statement with a documented error number or make the server unreachable. It satisfies both
 * `SqlQuerier` (observer) and `SqlExecutor` (actions).
 */
import { SqlQueryError, SqlUnavailableError } from "../../sql/errors.js";
import type { Row } from "../../sql/mappers.js";
import type { Statement } from "../../sql/statements.js";

export interface SentStatement {
  name: string;
  sql: string;
  kind: "query" | "execute";
}

/** A documented SQL Server error, shaped exactly as the adapter classifies it. */
export function sqlError(number: number, message = `error ${number}`): SqlQueryError {
  return new SqlQueryError(`Error ${number}: ${message}`, number, 16, 1, [number]);
}

type Answer = Row[] | ((statement: Statement) => Row[] | Promise<Row[]>);

export class FakeSql {
  readonly sent: SentStatement[] = [];
  private readonly answers = new Map<string, Answer>();
  private readonly failures = new Map<string, Error[]>();
  private unreachable: SqlUnavailableError | undefined;
  /** Statements (by name) whose execution waits until `release(name)`. */
  private readonly gates = new Map<string, { promise: Promise<void>; open: () => void }>();

  /** Rows returned for statements named `name` (a function gets the statement, e.g. to read parameters). */
  answer(name: string, rows: Answer): this {
    this.answers.set(name, rows);
    return this;
  }

  /** The next call of statement `name` throws `error` (queued: one per call). */
  failNext(name: string, error: Error): this {
    this.failures.set(name, [...(this.failures.get(name) ?? []), error]);
    return this;
  }

  /** Every call fails as if the TCP connection was refused (process down) or timed out (frozen). */
  goUnreachable(reason: "refused" | "timeout"): this {
    this.unreachable = new SqlUnavailableError(`fake SQL Server ${reason}`, reason);
    return this;
  }

  reachable(): this {
    this.unreachable = undefined;
    return this;
  }

  /** Statement `name` blocks until `release(name)`; lets a test observe a long action while it runs. */
  hold(name: string): this {
    let open!: () => void;
    const promise = new Promise<void>((resolve) => (open = resolve));
    this.gates.set(name, { promise, open });
    return this;
  }

  release(name: string): void {
    this.gates.get(name)?.open();
    this.gates.delete(name);
  }

  names(): string[] {
    return this.sent.map((s) => s.name);
  }

  async query(statement: Statement, _options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<Row[]> {
    return this.run(statement, "query");
  }

  async execute(statement: Statement, _options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<void> {
    await this.run(statement, "execute");
  }

  private async run(statement: Statement, kind: SentStatement["kind"]): Promise<Row[]> {
    if (this.unreachable !== undefined) throw this.unreachable;
    this.sent.push({ name: statement.name, sql: statement.sql, kind });
    const gate = this.gates.get(statement.name);
    if (gate !== undefined) await gate.promise;
    const queued = this.failures.get(statement.name);
    const failure = queued?.shift();
    if (failure !== undefined) throw failure;
    const answer = this.answers.get(statement.name);
    if (answer === undefined) return [];
    return typeof answer === "function" ? await answer(statement) : answer;
  }
}
