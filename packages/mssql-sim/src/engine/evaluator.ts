/**
 * Expression evaluation and the tiny relational layer behind SELECT: nested-loop joins over catalog views and
 * DMVs, WHERE with SQL three-valued logic, projections with aliases, COUNT/MIN/MAX aggregates without GROUP BY,
 * DISTINCT, ORDER BY and TOP. Comparisons of strings are case-insensitive like the default server collation.
 */
import type { Column, ColumnType, SqlValue } from "../tds/engine-port.js";
import type { Expr, SelectStmt, TypeName } from "./ast.js";
import { Errors, SqlError } from "./errors.js";
import { NotModelledError } from "./parser.js";
import type { Row, View } from "./views.js";

export interface Variable {
  type: ColumnType;
  value: SqlValue;
}

/** What the evaluator needs from the engine: tables, scalar functions, variables. */
export interface EvalHost {
  variables: Map<string, Variable>;
  resolveTable(parts: string[]): View;
  /** Scalar built-in (SERVERPROPERTY, CERT_ID, …) or global (@@SERVERNAME); undefined = unknown function. */
  callBuiltin(name: string, args: SqlValue[]): { value: SqlValue; type: ColumnType } | undefined;
  /** Primary-key lookup (WHERE k = value on the workload table) so reads stay O(1); undefined = no index. */
  lookupByKey?(parts: string[], column: string, value: SqlValue): View | undefined;
  statementText: string;
}

interface Scope {
  alias: string;
  columns: Column[];
  row: Row | null;
}

type Bindings = Scope[];

const AGGREGATES = new Set(["COUNT", "MAX", "MIN", "SUM", "COUNT_BIG"]);

export function typeFromName(t: TypeName): ColumnType {
  const [a, b] = t.args;
  switch (t.name) {
    case "NVARCHAR":
    case "NCHAR":
    case "SYSNAME":
      return { kind: "nvarchar", length: t.name === "SYSNAME" ? 128 : (a ?? 1) };
    case "VARCHAR":
    case "CHAR":
      return { kind: "varchar", length: a ?? 1 };
    case "INT":
    case "INTEGER":
      return { kind: "int" };
    case "BIGINT":
      return { kind: "bigint" };
    case "SMALLINT":
      return { kind: "smallint" };
    case "TINYINT":
      return { kind: "tinyint" };
    case "BIT":
      return { kind: "bit" };
    case "DATETIME":
      return { kind: "datetime" };
    case "DATETIME2":
      return { kind: "datetime2", scale: typeof a === "number" ? a : 7 };
    case "UNIQUEIDENTIFIER":
      return { kind: "uniqueidentifier" };
    case "VARBINARY":
    case "BINARY":
      return { kind: "varbinary", length: a ?? 1 };
    case "NUMERIC":
    case "DECIMAL":
      return { kind: "numeric", precision: typeof a === "number" ? a : 18, scale: typeof b === "number" ? b : 0 };
    case "XML":
      return { kind: "xml" };
    case "SQL_VARIANT":
      return { kind: "sql_variant" };
    default:
      throw new NotModelledError(`data type ${t.name}`);
  }
}

export function convertValue(value: SqlValue, type: ColumnType): SqlValue {
  if (value === null) return null;
  switch (type.kind) {
    case "nvarchar":
    case "varchar":
    case "xml": {
      let text: string;
      if (value instanceof Date) text = value.toISOString().replace("T", " ").replace("Z", "");
      else if (Buffer.isBuffer(value)) text = value.toString("latin1");
      else if (typeof value === "boolean") text = value ? "1" : "0";
      else text = String(value);
      return type.kind !== "xml" && typeof type.length === "number" ? text.slice(0, type.length) : text;
    }
    case "int":
    case "smallint":
    case "tinyint": {
      const n = typeof value === "boolean" ? Number(value) : typeof value === "bigint" ? Number(value) : Number(value);
      if (Number.isNaN(n)) throw new SqlError(245, `Conversion failed when converting the nvarchar value '${String(value)}' to data type int.`, 16, 1);
      return Math.trunc(n);
    }
    case "bigint":
      return typeof value === "bigint" ? value : BigInt(Math.trunc(Number(value)));
    case "bit":
      return typeof value === "string" ? value.toLowerCase() === "true" || Number(value) !== 0 : Boolean(value);
    case "datetime":
    case "datetime2":
      return value instanceof Date ? value : new Date(String(value));
    case "uniqueidentifier":
      return String(value).toUpperCase();
    case "varbinary":
      return Buffer.isBuffer(value) ? value : Buffer.from(String(value), "utf16le");
    default:
      return value;
  }
}

export function inferLiteralType(value: SqlValue): ColumnType {
  if (value === null) return { kind: "int" };
  if (typeof value === "number") return Number.isInteger(value) ? { kind: "int" } : { kind: "numeric", precision: 38, scale: 10 };
  if (typeof value === "bigint") return { kind: "bigint" };
  if (typeof value === "boolean") return { kind: "bit" };
  if (value instanceof Date) return { kind: "datetime" };
  if (Buffer.isBuffer(value)) return { kind: "varbinary", length: "max" };
  return { kind: "nvarchar", length: Math.max(1, Math.min(4000, value.length)) };
}

function compare(a: SqlValue, b: SqlValue): number | null {
  if (a === null || b === null) return null;
  if (typeof a === "boolean") a = a ? 1 : 0;
  if (typeof b === "boolean") b = b ? 1 : 0;
  if (a instanceof Date || b instanceof Date) {
    const x = a instanceof Date ? a.getTime() : new Date(String(a)).getTime();
    const y = b instanceof Date ? b.getTime() : new Date(String(b)).getTime();
    return x === y ? 0 : x < y ? -1 : 1;
  }
  if (Buffer.isBuffer(a) || Buffer.isBuffer(b)) {
    const x = Buffer.isBuffer(a) ? a : Buffer.from(String(a));
    const y = Buffer.isBuffer(b) ? b : Buffer.from(String(b));
    return Buffer.compare(x, y);
  }
  const numeric = (v: SqlValue): boolean => typeof v === "number" || typeof v === "bigint";
  if (numeric(a) || numeric(b)) {
    if (typeof a === "bigint" || typeof b === "bigint") {
      try {
        const x = BigInt(a as string | number | bigint);
        const y = BigInt(b as string | number | bigint);
        return x === y ? 0 : x < y ? -1 : 1;
      } catch {
        /* fall through to Number */
      }
    }
    const x = Number(a);
    const y = Number(b);
    if (Number.isNaN(x) || Number.isNaN(y)) {
      throw new SqlError(245, `Conversion failed when converting the nvarchar value '${String(Number.isNaN(x) ? a : b)}' to data type int.`, 16, 1);
    }
    return x === y ? 0 : x < y ? -1 : 1;
  }
  // Trailing spaces are ignored in SQL Server string comparison; the default collation is case-insensitive.
  const x = String(a).replace(/ +$/, "").toLowerCase();
  const y = String(b).replace(/ +$/, "").toLowerCase();
  return x === y ? 0 : x < y ? -1 : 1;
}

function truthy(value: SqlValue): boolean {
  return value === true || (typeof value === "number" && value !== 0);
}

export class Evaluator {
  constructor(private readonly host: EvalHost) {}

  evaluate(expr: Expr, bindings: Bindings = [], group?: Bindings[]): SqlValue {
    switch (expr.type) {
      case "literal":
        return expr.value;
      case "variable": {
        const variable = this.host.variables.get(expr.name);
        if (!variable) throw Errors.mustDeclare(expr.name);
        return variable.value;
      }
      case "global": {
        const result = this.host.callBuiltin(expr.name, []);
        if (!result) throw new NotModelledError(expr.name);
        return result.value;
      }
      case "column":
        return this.column(expr.qualifier, expr.name, bindings).value;
      case "call":
        return this.call(expr, bindings, group);
      case "negate": {
        const v = this.evaluate(expr.operand, bindings, group);
        return v === null ? null : typeof v === "bigint" ? -v : -Number(v);
      }
      case "not": {
        const v = this.evaluate(expr.operand, bindings, group);
        return v === null ? null : !truthy(v);
      }
      case "isnull": {
        const isNull = this.evaluate(expr.operand, bindings, group) === null;
        return expr.negated ? !isNull : isNull;
      }
      case "in": {
        const v = this.evaluate(expr.operand, bindings, group);
        if (v === null) return null;
        const found = expr.list.some((item) => compare(v, this.evaluate(item, bindings, group)) === 0);
        return expr.negated ? !found : found;
      }
      case "inSelect": {
        const v = this.evaluate(expr.operand, bindings, group);
        if (v === null) return null;
        const result = this.select(expr.select, bindings);
        const found = result.rows.some((r) => compare(v, r[0] ?? null) === 0);
        return expr.negated ? !found : found;
      }
      case "like": {
        const v = this.evaluate(expr.operand, bindings, group);
        const p = this.evaluate(expr.pattern, bindings, group);
        if (v === null || p === null) return null;
        const regex = new RegExp(
          `^${String(p)
            .replace(/[.*+?^${}()|\\]/g, "\\$&")
            .replace(/%/g, ".*")
            .replace(/_/g, ".")}$`,
          "is",
        );
        const matched = regex.test(String(v));
        return expr.negated ? !matched : matched;
      }
      case "exists": {
        const found = this.select(expr.select, bindings).rows.length > 0;
        return expr.negated ? !found : found;
      }
      case "subquery": {
        const result = this.select(expr.select, bindings);
        if (result.rows.length > 1) throw new SqlError(512, "Subquery returned more than 1 value. This is not permitted when the subquery follows =, !=, <, <= , >, >= or when the subquery is used as an expression.", 16, 1);
        return result.rows[0]?.[0] ?? null;
      }
      case "case": {
        for (const when of expr.whens) if (truthy(this.evaluate(when.when, bindings, group))) return this.evaluate(when.then, bindings, group);
        return expr.otherwise ? this.evaluate(expr.otherwise, bindings, group) : null;
      }
      case "binary":
        return this.binary(expr.op, expr.left, expr.right, bindings, group);
    }
  }

  private binary(op: string, leftExpr: Expr, rightExpr: Expr, bindings: Bindings, group?: Bindings[]): SqlValue {
    if (op === "AND") {
      const l = this.evaluate(leftExpr, bindings, group);
      if (l !== null && !truthy(l)) return false;
      const r = this.evaluate(rightExpr, bindings, group);
      if (r !== null && !truthy(r)) return false;
      return l === null || r === null ? null : true;
    }
    if (op === "OR") {
      const l = this.evaluate(leftExpr, bindings, group);
      if (l !== null && truthy(l)) return true;
      const r = this.evaluate(rightExpr, bindings, group);
      if (r !== null && truthy(r)) return true;
      return l === null || r === null ? null : false;
    }
    const l = this.evaluate(leftExpr, bindings, group);
    const r = this.evaluate(rightExpr, bindings, group);
    switch (op) {
      case "=":
        return compare(l, r) === null ? null : compare(l, r) === 0;
      case "<>":
        return compare(l, r) === null ? null : compare(l, r) !== 0;
      case "<":
        return compare(l, r) === null ? null : (compare(l, r) as number) < 0;
      case ">":
        return compare(l, r) === null ? null : (compare(l, r) as number) > 0;
      case "<=":
        return compare(l, r) === null ? null : (compare(l, r) as number) <= 0;
      case ">=":
        return compare(l, r) === null ? null : (compare(l, r) as number) >= 0;
    }
    if (l === null || r === null) return null;
    if (op === "+" && (typeof l === "string" || typeof r === "string")) return String(l) + String(r);
    if (typeof l === "bigint" || typeof r === "bigint") {
      const x = BigInt(l as number | bigint);
      const y = BigInt(r as number | bigint);
      return op === "+" ? x + y : op === "-" ? x - y : op === "*" ? x * y : op === "/" ? x / y : x % y;
    }
    const x = Number(l);
    const y = Number(r);
    if (op === "/" && y === 0) throw new SqlError(8134, "Divide by zero error encountered.", 16, 1);
    const result = op === "+" ? x + y : op === "-" ? x - y : op === "*" ? x * y : op === "/" ? x / y : x % y;
    return Number.isInteger(x) && Number.isInteger(y) ? Math.trunc(result) : result;
  }

  private column(qualifier: string | undefined, name: string, bindings: Bindings): { value: SqlValue; type: ColumnType; name: string } {
    for (const scope of bindings) {
      if (qualifier && scope.alias !== qualifier) continue;
      const column = scope.columns.find((c) => c.name.toLowerCase() === name);
      if (column) return { value: scope.row ? (scope.row[column.name] ?? null) : null, type: column.type, name: column.name };
    }
    throw Errors.invalidColumn(qualifier ? `${qualifier}.${name}` : name);
  }

  private call(expr: Extract<Expr, { type: "call" }>, bindings: Bindings, group?: Bindings[]): SqlValue {
    const name = expr.name;
    if (AGGREGATES.has(name)) {
      const rows = group ?? [bindings];
      if (expr.star) return rows.length;
      const values = rows.map((b) => this.evaluate(expr.args[0] as Expr, b)).filter((v) => v !== null);
      if (name === "COUNT" || name === "COUNT_BIG") return values.length;
      if (values.length === 0) return null;
      if (name === "SUM") return values.reduce((acc: number, v) => acc + Number(v), 0);
      return values.reduce((best, v) => ((compare(v, best) as number) * (name === "MAX" ? 1 : -1) > 0 ? v : best));
    }
    if (name === "CAST" || name === "CONVERT") {
      const value = this.evaluate(expr.args[0] as Expr, bindings, group);
      return convertValue(value, typeFromName(expr.castType as TypeName));
    }
    const args = expr.args.map((a) => this.evaluate(a, bindings, group));
    switch (name) {
      case "ISNULL":
      case "COALESCE":
        return args.find((a) => a !== null) ?? null;
      case "UPPER":
        return args[0] == null ? null : String(args[0]).toUpperCase();
      case "LOWER":
        return args[0] == null ? null : String(args[0]).toLowerCase();
      case "LEN":
        return args[0] == null ? null : String(args[0]).replace(/ +$/, "").length;
      case "LTRIM":
        return args[0] == null ? null : String(args[0]).replace(/^ +/, "");
      case "RTRIM":
        return args[0] == null ? null : String(args[0]).replace(/ +$/, "");
      case "CONCAT":
        return args.map((a) => (a === null ? "" : String(a))).join("");
      case "QUOTENAME":
        return args[0] == null ? null : `[${String(args[0]).replace(/]/g, "]]")}]`;
      case "REPLACE":
        return args.some((a) => a === null) ? null : String(args[0]).split(String(args[1])).join(String(args[2]));
    }
    const builtin = this.host.callBuiltin(name, args);
    if (!builtin) throw new NotModelledError(`function ${name}() in: ${this.host.statementText}`);
    return builtin.value;
  }

  typeOf(expr: Expr, bindings: Bindings): ColumnType {
    switch (expr.type) {
      case "column":
        return this.column(expr.qualifier, expr.name, bindings).type;
      case "variable":
        return this.host.variables.get(expr.name)?.type ?? { kind: "int" };
      case "global":
        return this.host.callBuiltin(expr.name, [])?.type ?? { kind: "int" };
      case "literal":
        return inferLiteralType(expr.value);
      case "call": {
        if (expr.castType) return typeFromName(expr.castType);
        if (expr.name === "COUNT") return { kind: "int" };
        if (expr.name === "COUNT_BIG") return { kind: "bigint" };
        if (AGGREGATES.has(expr.name) || ["ISNULL", "COALESCE", "UPPER", "LOWER", "LTRIM", "RTRIM"].includes(expr.name)) {
          return expr.args[0] ? this.typeOf(expr.args[0], bindings) : { kind: "int" };
        }
        if (["LEN"].includes(expr.name)) return { kind: "int" };
        if (["CONCAT", "QUOTENAME", "REPLACE"].includes(expr.name)) return { kind: "nvarchar", length: 4000 };
        try {
          const args = expr.args.map((a) => this.evaluate(a, bindings));
          return this.host.callBuiltin(expr.name, args)?.type ?? { kind: "int" };
        } catch {
          return { kind: "nvarchar", length: 4000 };
        }
      }
      case "binary":
        if (["+", "-", "*", "/", "%"].includes(expr.op)) {
          const left = this.typeOf(expr.left, bindings);
          if (expr.op === "+" && (left.kind === "nvarchar" || left.kind === "varchar")) return { kind: "nvarchar", length: 4000 };
          return left;
        }
        return { kind: "bit" };
      case "subquery": {
        const result = this.select(expr.select, bindings);
        return result.columns[0]?.type ?? { kind: "int" };
      }
      case "case":
        return expr.whens[0] ? this.typeOf(expr.whens[0].then, bindings) : { kind: "int" };
      case "negate":
        return this.typeOf(expr.operand, bindings);
      default:
        return { kind: "bit" };
    }
  }

  private containsAggregate(expr: Expr | undefined): boolean {
    if (!expr) return false;
    switch (expr.type) {
      case "call":
        return AGGREGATES.has(expr.name) || expr.args.some((a) => this.containsAggregate(a));
      case "binary":
        return this.containsAggregate(expr.left) || this.containsAggregate(expr.right);
      case "not":
      case "negate":
      case "isnull":
        return this.containsAggregate(expr.operand);
      case "case":
        return expr.whens.some((w) => this.containsAggregate(w.when) || this.containsAggregate(w.then)) || this.containsAggregate(expr.otherwise);
      default:
        return false;
    }
  }

  /** Run a SELECT. Returns the result set; `assignments` are applied to variables when the items are `@v = expr`. */
  select(stmt: SelectStmt, outer: Bindings = []): { columns: Column[]; rows: SqlValue[][]; assigned: boolean } {
    let bindingsList: Bindings[] = [[...outer]];
    if (stmt.from) {
      const first = this.indexedSource(stmt) ?? this.host.resolveTable(stmt.from.name);
      bindingsList = this.filterRows(first, stmt.from.alias, outer, stmt);
      for (const join of stmt.joins) {
        const view = this.host.resolveTable(join.source.name);
        const next: Bindings[] = [];
        for (const bindings of bindingsList) {
          let matched = false;
          for (const row of view.rows) {
            const candidate = [...bindings, { alias: join.source.alias, columns: view.columns, row }];
            if (!join.on || truthy(this.evaluate(join.on, candidate))) {
              next.push(candidate);
              matched = true;
            }
          }
          if (!matched && join.kind === "left") next.push([...bindings, { alias: join.source.alias, columns: view.columns, row: null }]);
        }
        bindingsList = next;
      }
    }
    if (stmt.where) bindingsList = bindingsList.filter((b) => truthy(this.evaluate(stmt.where as Expr, b)));

    const aggregate = stmt.items.some((i) => this.containsAggregate(i.expr));
    const templateBindings: Bindings = bindingsList[0] ?? this.emptyBindings(stmt, outer);
    const columns: Column[] = [];
    const producers: ((b: Bindings, group?: Bindings[]) => SqlValue)[] = [];
    for (const item of stmt.items) {
      if (item.kind === "star") {
        for (const scope of templateBindings.slice(outer.length)) {
          if (item.qualifier && scope.alias !== item.qualifier) continue;
          for (const column of scope.columns) {
            columns.push(column);
            const alias = scope.alias;
            producers.push((b) => b.find((s) => s.alias === alias)?.row?.[column.name] ?? null);
          }
        }
        continue;
      }
      const expr = item.expr as Expr;
      const name = item.alias ?? (item.kind === "assign" ? (item.variable as string) : expr.type === "column" ? this.column(expr.qualifier, expr.name, templateBindings).name : "");
      columns.push({ name, type: this.typeOf(expr, templateBindings), nullable: true });
      producers.push((b, group) => this.evaluate(expr, b, group));
    }

    let rows: SqlValue[][];
    if (aggregate) rows = [producers.map((p) => p(bindingsList[0] ?? templateBindings, bindingsList))];
    else rows = bindingsList.map((b) => producers.map((p) => p(b)));

    if (stmt.distinct) {
      const seen = new Set<string>();
      rows = rows.filter((r) => {
        const key = JSON.stringify(r, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      });
    }
    if (stmt.orderBy.length > 0 && !aggregate) {
      const keyed = rows.map((row, i) => ({ row, keys: stmt.orderBy.map((o) => this.orderKey(o.expr, columns, row, bindingsList[i] ?? [])) }));
      keyed.sort((a, b) => {
        for (let i = 0; i < stmt.orderBy.length; i++) {
          const c = compare(a.keys[i] ?? null, b.keys[i] ?? null) ?? (a.keys[i] === null ? -1 : 1);
          if (c !== 0) return stmt.orderBy[i]?.descending ? -c : c;
        }
        return 0;
      });
      rows = keyed.map((k) => k.row);
    }
    if (stmt.top) rows = rows.slice(0, Number(this.evaluate(stmt.top)));

    const assigns = stmt.items.filter((i) => i.kind === "assign");
    if (assigns.length > 0) {
      const last = rows[rows.length - 1];
      if (last) {
        stmt.items.forEach((item, i) => {
          const variable = this.host.variables.get(item.variable as string);
          if (!variable) throw Errors.mustDeclare(item.variable as string);
          variable.value = convertValue(last[i] ?? null, variable.type);
        });
      }
      return { columns, rows: [], assigned: true };
    }
    return { columns, rows, assigned: false };
  }

  /** `FROM t WHERE k = <no column refs>` on a keyed table: ask the host for the one matching row. */
  private indexedSource(stmt: SelectStmt): View | undefined {
    const where = stmt.where;
    if (!stmt.from || stmt.joins.length > 0 || !where || where.type !== "binary" || where.op !== "=" || !this.host.lookupByKey) return undefined;
    const [column, other] = where.left.type === "column" ? [where.left, where.right] : where.right.type === "column" ? [where.right, where.left] : [];
    if (!column || column.type !== "column" || !other || (other.type !== "literal" && other.type !== "variable")) return undefined;
    if (column.qualifier && column.qualifier !== stmt.from.alias) return undefined;
    return this.host.lookupByKey(stmt.from.name, column.name, this.evaluate(other));
  }

  private orderKey(expr: Expr, columns: Column[], row: SqlValue[], bindings: Bindings): SqlValue {
    if (expr.type === "column" && !expr.qualifier) {
      const index = columns.findIndex((c) => c.name.toLowerCase() === expr.name);
      if (index >= 0) return row[index] ?? null;
    }
    if (expr.type === "literal" && typeof expr.value === "number") return row[expr.value - 1] ?? null;
    return this.evaluate(expr, bindings);
  }

  private emptyBindings(stmt: SelectStmt, outer: Bindings): Bindings {
    const bindings: Bindings = [...outer];
    if (stmt.from) bindings.push({ alias: stmt.from.alias, columns: this.host.resolveTable(stmt.from.name).columns, row: null });
    for (const join of stmt.joins) bindings.push({ alias: join.source.alias, columns: this.host.resolveTable(join.source.name).columns, row: null });
    return bindings;
  }

  private filterRows(view: View, alias: string, outer: Bindings, _stmt: SelectStmt): Bindings[] {
    return view.rows.map((row) => [...outer, { alias, columns: view.columns, row }]);
  }
}

export function ensureSqlError(err: unknown, statementText: string): SqlError {
  if (err instanceof SqlError) return err;
  if (err instanceof NotModelledError) return Errors.notModelled(err.message);
  return Errors.notModelled(`mssql-sim does not model: ${statementText.slice(0, 80)} (${(err as Error).message})`);
}
