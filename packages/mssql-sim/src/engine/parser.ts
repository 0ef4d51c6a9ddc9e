/**
 * Recursive-descent parser for the T-SQL subset that Microsoft's Pacemaker agent (pacemaker-agent.md §1.1, §10),
 * the peer operator (peer-sql-on-k8s-operator.md §3) and our own agent/workload send. Anything outside the
 * grammar raises `NotModelledError` so the engine answers "mssql-sim does not model: …" instead of guessing.
 */
import type {
  AlterAgAction,
  DdlOption,
  Expr,
  Join,
  OptionValue,
  ReplicaSpec,
  SelectItem,
  SelectStmt,
  Statement,
  StatementBody,
  TableSource,
  TypeName,
} from "./ast.js";
import { SqlSyntaxError, tokenize, type Token } from "./tokenizer.js";

/** The statement is syntactically plausible T-SQL but outside what the simulator models. */
export class NotModelledError extends Error {
  constructor(readonly statementText: string) {
    super(`mssql-sim does not model: ${statementText.replace(/\s+/g, " ").trim().slice(0, 80)}`);
    this.name = "NotModelledError";
  }
}

/** Words that end an expression or an implicit alias (so `FROM t WHERE` does not alias t as "where"). */
const RESERVED = new Set(
  (
    "ADD ALL ALTER AND ANY AS ASC BACKUP BEGIN BETWEEN BY CASE COMMIT CREATE CROSS DECLARE DELETE DENY DESC DISTINCT DROP " +
    "ELSE END EXEC EXECUTE EXISTS FOR FROM FULL GO GRANT GROUP HAVING IF IN INNER INSERT INTO IS JOIN LEFT LIKE NOT NULL " +
    "ON OR ORDER OUTER PRINT REVOKE RIGHT ROLLBACK SELECT SET THEN TOP UNION UPDATE USE VALUES WAITFOR WHEN WHERE WITH"
  ).split(" "),
);

export function parseBatch(sql: string): Statement[] {
  const parser = new Parser(sql, tokenize(sql));
  const statements: Statement[] = [];
  while (!parser.atEnd()) {
    if (parser.acceptPunct(";")) continue;
    statements.push(parser.statement());
  }
  return statements;
}

class Parser {
  private pos = 0;
  constructor(
    private readonly sql: string,
    private readonly tokens: Token[],
  ) {}

  atEnd(): boolean {
    return this.pos >= this.tokens.length;
  }

  private peek(offset = 0): Token | undefined {
    return this.tokens[this.pos + offset];
  }

  private next(): Token {
    const token = this.tokens[this.pos];
    if (!token) throw new SqlSyntaxError("Incorrect syntax near the end of the batch.", this.sql.length);
    this.pos++;
    return token;
  }

  private isWord(word: string, offset = 0): boolean {
    const token = this.peek(offset);
    return token?.kind === "word" && token.value === word;
  }

  private acceptWord(...words: string[]): boolean {
    for (let i = 0; i < words.length; i++) if (!this.isWord(words[i] as string, i)) return false;
    this.pos += words.length;
    return true;
  }

  private expectWord(...words: string[]): void {
    for (const word of words) {
      const token = this.peek();
      if (token?.kind !== "word" || token.value !== word) this.syntaxError(token);
      this.pos++;
    }
  }

  acceptPunct(p: string): boolean {
    const token = this.peek();
    if (token?.kind === "punct" && token.value === p) {
      this.pos++;
      return true;
    }
    return false;
  }

  private expectPunct(p: string): void {
    if (!this.acceptPunct(p)) this.syntaxError(this.peek());
  }

  private syntaxError(token: Token | undefined): never {
    if (!token) throw new SqlSyntaxError("Incorrect syntax near the end of the batch.", this.sql.length);
    throw new SqlSyntaxError(`Incorrect syntax near '${token.raw}'.`, token.offset);
  }

  /** Identifier: bare word, [bracketed] or "quoted". Returned with original case. */
  private identifier(): string {
    const token = this.next();
    if (token.kind === "quoted") return token.value;
    if (token.kind === "word") return token.raw;
    this.syntaxError(token);
  }

  /** Dotted name like master.sys.databases or dbo.kv (parts lower-cased for lookup). */
  private dottedName(): string[] {
    const parts = [this.identifier()];
    while (this.acceptPunct(".")) {
      if (this.acceptPunct(".")) parts.push("dbo"); // master..x
      parts.push(this.identifier());
    }
    return parts;
  }

  /** String literal or identifier (AG DDL accepts `REPLICA ON N'x'` and `ON 'x'`). */
  private stringOrIdentifier(): string {
    const token = this.peek();
    if (token?.kind === "string") {
      this.pos++;
      return token.value;
    }
    return this.identifier();
  }

  private stringLiteral(): string {
    const token = this.next();
    if (token.kind !== "string") this.syntaxError(token);
    return token.value;
  }

  private notModelled(startOffset: number): never {
    throw new NotModelledError(this.sql.slice(startOffset));
  }

  statement(): Statement {
    const first = this.peek() as Token;
    const start = first.offset;
    const body = this.statementBody(start);
    const endToken = this.tokens[this.pos - 1] as Token;
    const text = this.sql.slice(start, endToken.offset + endToken.raw.length);
    const line = this.sql.slice(0, start).split("\n").length;
    this.acceptPunct(";");
    return { ...body, text, line } as Statement;
  }

  private statementBody(start: number): StatementBody {
    const token = this.next();
    if (token.kind !== "word") this.notModelled(start);
    switch (token.value) {
      case "SELECT":
        this.pos--;
        return { type: "select", select: this.select() };
      case "INSERT":
        return this.insert();
      case "UPDATE":
        if (this.isWord("STATISTICS") || !this.isWord("SET", this.peek(1)?.value === "." ? 3 : 1)) this.notModelled(start);
        return this.update();
      case "DELETE":
        return this.deleteStatement();
      case "USE":
        return { type: "use", database: this.identifier() };
      case "SET":
        return this.set(start);
      case "DECLARE":
        return this.declare(start);
      case "EXEC":
      case "EXECUTE":
        return this.exec();
      case "IF": {
        const condition = this.expr();
        const then = this.statement();
        const otherwise = this.acceptWord("ELSE") ? this.statement() : undefined;
        return otherwise ? { type: "if", condition, then, otherwise } : { type: "if", condition, then };
      }
      case "BEGIN": {
        if (this.isWord("TRAN") || this.isWord("TRANSACTION") || this.isWord("TRY")) this.notModelled(start);
        const body: Statement[] = [];
        while (!this.isWord("END")) {
          if (this.atEnd()) this.syntaxError(undefined);
          if (this.acceptPunct(";")) continue;
          body.push(this.statement());
        }
        this.expectWord("END");
        return { type: "block", body };
      }
      case "WAITFOR":
        this.expectWord("DELAY");
        return { type: "waitfor", delay: this.primary() };
      case "PRINT":
        return { type: "print", value: this.expr() };
      case "CREATE":
        return this.create(start);
      case "ALTER":
        return this.alter(start);
      case "DROP":
        return this.drop(start);
      case "GRANT":
      case "DENY":
        return this.grant(token.value === "DENY", start);
      case "BACKUP":
        return this.backup(start);
      default:
        this.notModelled(start);
    }
  }

  // ---- DML ----------------------------------------------------------------------------------------------------

  private insert(): StatementBody {
    this.acceptWord("INTO");
    const table = this.dottedName();
    const columns: string[] = [];
    if (this.acceptPunct("(")) {
      do columns.push(this.identifier().toLowerCase());
      while (this.acceptPunct(","));
      this.expectPunct(")");
    }
    this.expectWord("VALUES");
    this.expectPunct("(");
    const values: Expr[] = [];
    do values.push(this.expr());
    while (this.acceptPunct(","));
    this.expectPunct(")");
    return { type: "insert", table, columns, values };
  }

  private update(): StatementBody {
    const table = this.dottedName();
    this.expectWord("SET");
    const assignments: { column: string; value: Expr }[] = [];
    do {
      const column = this.identifier().toLowerCase();
      this.expectPunct("=");
      assignments.push({ column, value: this.expr() });
    } while (this.acceptPunct(","));
    const where = this.acceptWord("WHERE") ? this.expr() : undefined;
    return where ? { type: "update", table, assignments, where } : { type: "update", table, assignments };
  }

  private deleteStatement(): StatementBody {
    this.acceptWord("FROM");
    const table = this.dottedName();
    const where = this.acceptWord("WHERE") ? this.expr() : undefined;
    return where ? { type: "delete", table, where } : { type: "delete", table };
  }

  private set(start: number): StatementBody {
    const token = this.peek();
    if (token?.kind === "variable") {
      this.pos++;
      this.expectPunct("=");
      return { type: "setVariable", variable: token.value, value: this.expr() };
    }
    // Session options (tedious' initial SET batch, SET NOCOUNT ON, …): accepted; they change nothing modelled.
    if (this.acceptWord("TRANSACTION", "ISOLATION", "LEVEL")) {
      const words: string[] = [];
      while (this.peek()?.kind === "word" && ["READ", "COMMITTED", "UNCOMMITTED", "REPEATABLE", "SNAPSHOT", "SERIALIZABLE"].includes(this.peek()!.value))
        words.push(this.next().value);
      return { type: "setOption", option: `TRANSACTION ISOLATION LEVEL ${words.join(" ")}` };
    }
    const names: string[] = [];
    do {
      const name = this.next();
      if (name.kind !== "word") this.notModelled(start);
      names.push(name.value);
    } while (this.acceptPunct(","));
    this.acceptPunct("-");
    const value = this.next();
    if (!["word", "number", "string"].includes(value.kind)) this.notModelled(start);
    return { type: "setOption", option: `${names.join(",")} ${value.value}` };
  }

  private typeName(): TypeName {
    const name = this.identifier().toUpperCase();
    const args: (number | "max")[] = [];
    if (this.acceptPunct("(")) {
      do {
        const token = this.next();
        if (token.kind === "word" && token.value === "MAX") args.push("max");
        else if (token.kind === "number") args.push(Number(token.value));
        else this.syntaxError(token);
      } while (this.acceptPunct(","));
      this.expectPunct(")");
    }
    return { name, args };
  }

  private declare(start: number): StatementBody {
    const variables: { name: string; typeName: TypeName; initial?: Expr }[] = [];
    do {
      const token = this.next();
      if (token.kind !== "variable") this.syntaxError(token);
      this.acceptWord("AS");
      if (this.isWord("TABLE")) this.notModelled(start);
      const typeName = this.typeName();
      if (this.acceptPunct("=")) variables.push({ name: token.value, typeName, initial: this.expr() });
      else variables.push({ name: token.value, typeName });
    } while (this.acceptPunct(","));
    return { type: "declare", variables };
  }

  private exec(): StatementBody {
    if (this.acceptPunct("(")) {
      const sql = this.expr();
      this.expectPunct(")");
      return { type: "execDynamic", sql };
    }
    let returnVariable: string | undefined;
    if (this.peek()?.kind === "variable" && this.peek(1)?.value === "=") {
      returnVariable = this.next().value;
      this.expectPunct("=");
    }
    const procedure = this.dottedName().map((p) => p.toLowerCase());
    const args: { name?: string; value: Expr; output: boolean }[] = [];
    if (this.startsArgument()) {
      do {
        let name: string | undefined;
        if (this.peek()?.kind === "variable" && this.peek(1)?.value === "=") {
          name = this.next().value;
          this.expectPunct("=");
        }
        const value = this.expr();
        const output = this.acceptWord("OUTPUT") || this.acceptWord("OUT");
        args.push(name ? { name, value, output } : { value, output });
      } while (this.acceptPunct(","));
    }
    return returnVariable ? { type: "exec", procedure, args, returnVariable } : { type: "exec", procedure, args };
  }

  private startsArgument(): boolean {
    const token = this.peek();
    if (!token) return false;
    if (token.kind === "word") return token.value === "NULL" || token.value === "DEFAULT";
    if (token.kind === "punct") return token.value === "-";
    return true;
  }

  // ---- SELECT -------------------------------------------------------------------------------------------------

  select(): SelectStmt {
    this.expectWord("SELECT");
    const distinct = this.acceptWord("DISTINCT");
    let top: Expr | undefined;
    if (this.acceptWord("TOP")) {
      if (this.acceptPunct("(")) {
        top = this.expr();
        this.expectPunct(")");
      } else top = this.primary();
    }
    const items: SelectItem[] = [];
    do items.push(this.selectItem());
    while (this.acceptPunct(","));
    const stmt: SelectStmt = { distinct, items, joins: [], orderBy: [] };
    if (top) stmt.top = top;
    if (this.acceptWord("FROM")) {
      stmt.from = this.tableSource();
      for (;;) {
        let kind: Join["kind"] | undefined;
        if (this.acceptWord("JOIN") || this.acceptWord("INNER", "JOIN")) kind = "inner";
        else if (this.acceptWord("LEFT", "OUTER", "JOIN") || this.acceptWord("LEFT", "JOIN")) kind = "left";
        else if (this.acceptWord("CROSS", "JOIN")) kind = "cross";
        else if (this.acceptPunct(",")) kind = "cross";
        if (!kind) break;
        const source = this.tableSource();
        if (kind !== "cross") {
          this.expectWord("ON");
          stmt.joins.push({ kind, source, on: this.expr() });
        } else stmt.joins.push({ kind, source });
      }
    }
    if (this.acceptWord("WHERE")) stmt.where = this.expr();
    if (this.isWord("GROUP") || this.isWord("HAVING") || this.isWord("UNION")) throw new NotModelledError(this.sql.slice(this.peek()!.offset));
    if (this.acceptWord("ORDER", "BY")) {
      do {
        const expr = this.expr();
        const descending = this.acceptWord("DESC");
        if (!descending) this.acceptWord("ASC");
        stmt.orderBy.push({ expr, descending });
      } while (this.acceptPunct(","));
    }
    return stmt;
  }

  private selectItem(): SelectItem {
    if (this.acceptPunct("*")) return { kind: "star" };
    const token = this.peek();
    if ((token?.kind === "word" || token?.kind === "quoted") && this.peek(1)?.value === "." && this.peek(2)?.value === "*") {
      this.pos += 3;
      return { kind: "star", qualifier: token.value.toLowerCase() };
    }
    if (token?.kind === "variable" && !token.value.startsWith("@@") && this.peek(1)?.value === "=") {
      this.pos += 2;
      return { kind: "assign", variable: token.value, expr: this.expr() };
    }
    const expr = this.expr();
    const item: SelectItem = { kind: "expr", expr };
    if (this.acceptWord("AS")) item.alias = this.stringOrIdentifier();
    else {
      const next = this.peek();
      if (next?.kind === "quoted" || next?.kind === "string" || (next?.kind === "word" && !RESERVED.has(next.value))) item.alias = this.stringOrIdentifier();
    }
    return item;
  }

  private tableSource(): TableSource {
    if (this.peek()?.value === "(") throw new NotModelledError(this.sql.slice(this.peek()!.offset));
    const name = this.dottedName().map((p) => p.toLowerCase());
    let alias = name[name.length - 1] as string;
    if (this.acceptWord("AS")) alias = this.identifier().toLowerCase();
    else {
      const next = this.peek();
      if (next?.kind === "quoted" || (next?.kind === "word" && !RESERVED.has(next.value))) alias = this.identifier().toLowerCase();
    }
    if (this.acceptWord("WITH")) {
      // table hints such as WITH (NOLOCK): accepted, no effect on a model without locking.
      this.expectPunct("(");
      while (!this.acceptPunct(")")) this.next();
    }
    return { name, alias };
  }

  // ---- expressions -------------------------------------------------------------------------------------------

  expr(): Expr {
    let left = this.andExpr();
    while (this.acceptWord("OR")) left = { type: "binary", op: "OR", left, right: this.andExpr() };
    return left;
  }

  private andExpr(): Expr {
    let left = this.notExpr();
    while (this.acceptWord("AND")) left = { type: "binary", op: "AND", left, right: this.notExpr() };
    return left;
  }

  private notExpr(): Expr {
    if (this.acceptWord("NOT")) return { type: "not", operand: this.notExpr() };
    return this.predicate();
  }

  private predicate(): Expr {
    if (this.acceptWord("EXISTS")) {
      this.expectPunct("(");
      const select = this.select();
      this.expectPunct(")");
      return { type: "exists", select, negated: false };
    }
    const left = this.additive();
    const token = this.peek();
    if (token?.kind === "punct" && ["=", "<>", "!=", "<", ">", "<=", ">="].includes(token.value)) {
      this.pos++;
      return { type: "binary", op: token.value === "!=" ? "<>" : token.value, left, right: this.additive() };
    }
    if (this.acceptWord("IS")) {
      const negated = this.acceptWord("NOT");
      this.expectWord("NULL");
      return { type: "isnull", operand: left, negated };
    }
    const negated = this.acceptWord("NOT");
    if (this.acceptWord("IN")) {
      this.expectPunct("(");
      if (this.isWord("SELECT")) {
        const select = this.select();
        this.expectPunct(")");
        return { type: "inSelect", operand: left, select, negated };
      }
      const list: Expr[] = [];
      do list.push(this.expr());
      while (this.acceptPunct(","));
      this.expectPunct(")");
      return { type: "in", operand: left, list, negated };
    }
    if (this.acceptWord("LIKE")) return { type: "like", operand: left, pattern: this.additive(), negated };
    if (negated) this.syntaxError(this.peek());
    return left;
  }

  private additive(): Expr {
    let left = this.multiplicative();
    for (;;) {
      const token = this.peek();
      if (token?.kind === "punct" && (token.value === "+" || token.value === "-")) {
        this.pos++;
        left = { type: "binary", op: token.value, left, right: this.multiplicative() };
      } else return left;
    }
  }

  private multiplicative(): Expr {
    let left = this.primary();
    for (;;) {
      const token = this.peek();
      if (token?.kind === "punct" && (token.value === "*" || token.value === "/" || token.value === "%")) {
        this.pos++;
        left = { type: "binary", op: token.value, left, right: this.primary() };
      } else return left;
    }
  }

  primary(): Expr {
    const token = this.next();
    switch (token.kind) {
      case "string":
        return { type: "literal", value: token.value };
      case "number":
        if (token.value.includes(".")) return { type: "literal", value: Number(token.value) };
        return { type: "literal", value: safeInteger(token.value) };
      case "binary":
        return { type: "literal", value: Buffer.from(token.value.length % 2 ? `0${token.value}` : token.value, "hex") };
      case "variable":
        return token.value.startsWith("@@") ? { type: "global", name: token.value } : { type: "variable", name: token.value };
      case "punct":
        if (token.value === "(") {
          if (this.isWord("SELECT")) {
            const select = this.select();
            this.expectPunct(")");
            return { type: "subquery", select };
          }
          const inner = this.expr();
          this.expectPunct(")");
          return inner;
        }
        if (token.value === "-") return { type: "negate", operand: this.primary() };
        this.syntaxError(token);
      // falls through: syntaxError never returns
      case "quoted":
      case "word": {
        if (token.kind === "word" && token.value === "NULL") return { type: "literal", value: null };
        if (token.kind === "word" && token.value === "CASE") return this.caseExpr();
        if (this.acceptPunct("(")) return this.call(token.value.toUpperCase());
        const parts = [token.kind === "quoted" ? token.value : token.raw];
        while (this.acceptPunct(".")) parts.push(this.identifier());
        if (parts.length === 1) return { type: "column", name: (parts[0] as string).toLowerCase() };
        const name = (parts[parts.length - 1] as string).toLowerCase();
        return { type: "column", qualifier: (parts[parts.length - 2] as string).toLowerCase(), name };
      }
    }
  }

  private caseExpr(): Expr {
    let subject: Expr | undefined;
    if (!this.isWord("WHEN")) subject = this.expr();
    const whens: { when: Expr; then: Expr }[] = [];
    while (this.acceptWord("WHEN")) {
      let when = this.expr();
      if (subject) when = { type: "binary", op: "=", left: subject, right: when };
      this.expectWord("THEN");
      whens.push({ when, then: this.expr() });
    }
    const otherwise = this.acceptWord("ELSE") ? this.expr() : undefined;
    this.expectWord("END");
    return otherwise ? { type: "case", whens, otherwise } : { type: "case", whens };
  }

  private call(name: string): Expr {
    if (name === "CAST") {
      const operand = this.expr();
      this.expectWord("AS");
      const castType = this.typeName();
      this.expectPunct(")");
      return { type: "call", name, args: [operand], castType };
    }
    if (name === "CONVERT") {
      const castType = this.typeName();
      this.expectPunct(",");
      const args = [this.expr()];
      if (this.acceptPunct(",")) args.push(this.expr());
      this.expectPunct(")");
      return { type: "call", name, args, castType };
    }
    if (this.acceptPunct("*")) {
      this.expectPunct(")");
      return { type: "call", name, args: [], star: true };
    }
    const args: Expr[] = [];
    if (!this.acceptPunct(")")) {
      do args.push(this.expr());
      while (this.acceptPunct(","));
      this.expectPunct(")");
    }
    return { type: "call", name, args };
  }

  // ---- DDL ----------------------------------------------------------------------------------------------------

  /** `( NAME = v…, NAME (nested), … )` — the option lists of CREATE/ALTER AG, ENDPOINT and CERTIFICATE. */
  private optionList(): DdlOption[] {
    this.expectPunct("(");
    const options: DdlOption[] = [];
    if (this.acceptPunct(")")) return options;
    do options.push(this.option());
    while (this.acceptPunct(","));
    this.expectPunct(")");
    return options;
  }

  /** `topLevel` options (CREATE LOGIN … WITH PASSWORD = 'x', CHECK_POLICY = OFF) take exactly one value token. */
  private option(topLevel = false): DdlOption {
    const nameToken = this.next();
    if (nameToken.kind !== "word") this.syntaxError(nameToken);
    let name = nameToken.value;
    // Multi-word option names: PRIVATE KEY, ENCRYPTION BY PASSWORD, DECRYPTION BY PASSWORD.
    while (this.peek()?.kind === "word" && !["=", "("].includes(this.peek()!.value)) name += ` ${this.next().value}`;
    if (this.peek()?.value === "(") return { name, values: [], nested: this.optionList() };
    const values: OptionValue[] = [];
    if (this.acceptPunct("=")) {
      for (;;) {
        const token = this.peek();
        if (!token || (token.kind === "punct" && (token.value === "," || token.value === ")" || token.value === ";"))) break;
        if (topLevel && values.length > 0) break;
        if (token.kind === "punct" && token.value === "(") {
          // LISTENER_IP = (0.0.0.0)
          this.pos++;
          let text = "";
          while (!this.acceptPunct(")")) text += this.next().raw;
          values.push({ kind: "list", text });
          continue;
        }
        this.pos++;
        if (token.kind === "punct" && token.value === "-") {
          const number = this.next();
          values.push({ kind: "number", text: `-${number.value}` });
          continue;
        }
        const kind = token.kind === "variable" || token.kind === "punct" ? "word" : token.kind;
        values.push({ kind, text: token.value });
      }
    }
    return { name, values };
  }

  private replicaSpec(): ReplicaSpec {
    const serverName = this.stringOrIdentifier();
    this.expectWord("WITH");
    return { serverName, options: this.optionList() };
  }

  private nameList(): string[] {
    const names: string[] = [];
    do names.push(this.identifier());
    while (this.acceptPunct(","));
    return names;
  }

  private create(start: number): StatementBody {
    if (this.acceptWord("AVAILABILITY", "GROUP")) {
      const name = this.identifier();
      const options = this.acceptWord("WITH") ? this.optionList() : [];
      this.expectWord("FOR");
      let databases: string[] = [];
      if (this.acceptWord("DATABASE")) databases = this.nameList();
      this.expectWord("REPLICA", "ON");
      const replicas: ReplicaSpec[] = [];
      do replicas.push(this.replicaSpec());
      while (this.acceptPunct(","));
      return { type: "createAg", name, options, databases, replicas };
    }
    if (this.acceptWord("MASTER", "KEY")) {
      this.expectWord("ENCRYPTION", "BY", "PASSWORD");
      this.expectPunct("=");
      return { type: "createMasterKey", password: this.stringLiteral() };
    }
    if (this.acceptWord("CERTIFICATE")) {
      const name = this.identifier();
      const body: Extract<StatementBody, { type: "createCertificate" }> = { type: "createCertificate", name };
      if (this.acceptWord("AUTHORIZATION")) body.authorization = this.identifier();
      if (this.acceptWord("FROM")) {
        if (this.acceptWord("BINARY")) {
          this.expectPunct("=");
          const token = this.next();
          if (token.kind !== "binary") this.syntaxError(token);
          body.fromBinary = Buffer.from(token.value, "hex");
        } else if (this.acceptWord("FILE")) {
          this.expectPunct("=");
          body.fromFile = this.stringLiteral();
        } else this.notModelled(start);
        if (this.acceptWord("WITH", "PRIVATE", "KEY")) body.privateKey = this.optionList();
      } else {
        if (this.acceptWord("ENCRYPTION", "BY", "PASSWORD")) {
          this.expectPunct("=");
          this.stringLiteral();
        }
        this.expectWord("WITH");
        do {
          const option = this.option(true);
          if (option.name === "SUBJECT") body.subject = option.values[0]?.text ?? "";
        } while (this.acceptPunct(","));
      }
      return body;
    }
    if (this.acceptWord("ENDPOINT")) {
      const name = this.identifier();
      let state: string | undefined;
      if (this.acceptWord("STATE")) {
        this.expectPunct("=");
        state = this.next().value;
      }
      this.expectWord("AS", "TCP");
      const tcp = this.optionList();
      this.expectWord("FOR");
      const protocol = this.next().value;
      if (protocol !== "DATABASE_MIRRORING" && protocol !== "DATA_MIRRORING") this.notModelled(start);
      const mirroring = this.optionList();
      return state ? { type: "createEndpoint", name, state, tcp, protocol, mirroring } : { type: "createEndpoint", name, tcp, protocol, mirroring };
    }
    if (this.acceptWord("LOGIN")) {
      const name = this.identifier();
      if (this.acceptWord("FROM", "CERTIFICATE")) return { type: "createLogin", name, fromCertificate: this.identifier(), options: [] };
      this.expectWord("WITH");
      const options: DdlOption[] = [];
      let password: string | undefined;
      do {
        const option = this.option(true);
        if (option.name === "PASSWORD") password = option.values[0]?.text;
        options.push(option);
      } while (this.acceptPunct(","));
      return password === undefined ? { type: "createLogin", name, options } : { type: "createLogin", name, password, options };
    }
    if (this.acceptWord("USER")) {
      const name = this.identifier();
      if (this.acceptWord("WITHOUT", "LOGIN")) return { type: "createUser", name, withoutLogin: true };
      if (this.acceptWord("FOR", "LOGIN") || this.acceptWord("FROM", "LOGIN")) return { type: "createUser", name, login: this.identifier(), withoutLogin: false };
      return { type: "createUser", name, login: name, withoutLogin: false };
    }
    if (this.acceptWord("DATABASE")) {
      const name = this.identifier();
      if (!this.atEnd() && !this.isStatementStart()) this.notModelled(start);
      return { type: "createDatabase", name };
    }
    if (this.acceptWord("TABLE")) {
      const table = this.dottedName();
      this.expectPunct("(");
      const columns: { name: string; typeName: TypeName; primaryKey: boolean }[] = [];
      do {
        const name = this.identifier().toLowerCase();
        const typeName = this.typeName();
        let primaryKey = false;
        while (!this.atEnd() && this.peek()?.value !== "," && this.peek()?.value !== ")") {
          if (this.acceptWord("PRIMARY", "KEY")) primaryKey = true;
          else if (this.acceptWord("NOT", "NULL") || this.acceptWord("NULL")) continue;
          else this.notModelled(start);
        }
        columns.push({ name, typeName, primaryKey });
      } while (this.acceptPunct(","));
      this.expectPunct(")");
      return { type: "createTable", table, columns };
    }
    this.notModelled(start);
  }

  private isStatementStart(): boolean {
    const token = this.peek();
    return token?.kind === "punct" ? token.value === ";" : token?.kind === "word" && RESERVED.has(token.value);
  }

  private alter(start: number): StatementBody {
    if (this.acceptWord("AVAILABILITY", "GROUP")) {
      const name = this.identifier();
      return { type: "alterAg", name, action: this.alterAgAction(start) };
    }
    if (this.acceptWord("ENDPOINT")) {
      const name = this.identifier();
      let state: string | undefined;
      if (this.acceptWord("STATE")) {
        this.expectPunct("=");
        state = this.next().value;
      }
      if (this.isWord("AS") || this.isWord("FOR")) this.notModelled(start);
      return state ? { type: "alterEndpoint", name, state } : { type: "alterEndpoint", name };
    }
    if (this.acceptWord("LOGIN")) {
      const name = this.identifier();
      if (this.acceptWord("ENABLE")) return { type: "alterLogin", name, enable: true };
      if (this.acceptWord("DISABLE")) return { type: "alterLogin", name, enable: false };
      this.expectWord("WITH");
      let password: string | undefined;
      do {
        const option = this.option(true);
        if (option.name === "PASSWORD") password = option.values[0]?.text;
      } while (this.acceptPunct(","));
      return password === undefined ? { type: "alterLogin", name } : { type: "alterLogin", name, password };
    }
    if (this.acceptWord("SERVER", "ROLE")) {
      const role = this.identifier();
      const add = this.acceptWord("ADD");
      if (!add) this.expectWord("DROP");
      this.expectWord("MEMBER");
      return { type: "alterServerRole", role, member: this.identifier(), add };
    }
    if (this.acceptWord("DATABASE")) {
      const name = this.identifier();
      this.expectWord("SET");
      if (this.acceptWord("RECOVERY")) return { type: "alterDatabase", name, setting: "recovery", value: this.next().value };
      if (this.acceptWord("HADR")) {
        if (this.acceptWord("AVAILABILITY", "GROUP")) {
          this.expectPunct("=");
          return { type: "alterDatabase", name, setting: "hadr", value: "AVAILABILITY GROUP", agName: this.identifier() };
        }
        return { type: "alterDatabase", name, setting: "hadr", value: this.next().value };
      }
      this.notModelled(start);
    }
    this.notModelled(start);
  }

  private alterAgAction(start: number): AlterAgAction {
    if (this.acceptWord("JOIN")) return { kind: "join", options: this.acceptWord("WITH") ? this.optionList() : [] };
    if (this.acceptWord("GRANT", "CREATE", "ANY", "DATABASE")) return { kind: "grantCreateDb", deny: false };
    if (this.acceptWord("DENY", "CREATE", "ANY", "DATABASE")) return { kind: "grantCreateDb", deny: true };
    if (this.acceptWord("ADD", "DATABASE")) return { kind: "addDatabase", databases: this.nameList() };
    if (this.acceptWord("REMOVE", "DATABASE")) return { kind: "removeDatabase", databases: this.nameList() };
    if (this.acceptWord("ADD", "REPLICA", "ON")) {
      const replicas: ReplicaSpec[] = [];
      do replicas.push(this.replicaSpec());
      while (this.acceptPunct(","));
      return { kind: "addReplica", replicas };
    }
    if (this.acceptWord("MODIFY", "REPLICA", "ON")) return { kind: "modifyReplica", replica: this.replicaSpec() };
    if (this.acceptWord("REMOVE", "REPLICA", "ON")) return { kind: "removeReplica", serverName: this.stringOrIdentifier() };
    if (this.acceptWord("FAILOVER")) return { kind: "failover" };
    if (this.acceptWord("FORCE_FAILOVER_ALLOW_DATA_LOSS")) return { kind: "forceFailover" };
    if (this.acceptWord("OFFLINE")) return { kind: "offline" };
    if (this.acceptWord("ONLINE")) return { kind: "online" };
    if (this.acceptWord("SET")) return { kind: "set", options: this.optionList() };
    this.notModelled(start);
  }

  private drop(start: number): StatementBody {
    if (this.acceptWord("AVAILABILITY", "GROUP")) return { type: "dropAg", name: this.identifier() };
    if (this.acceptWord("ENDPOINT")) return { type: "dropEndpoint", name: this.identifier() };
    if (this.acceptWord("DATABASE")) return { type: "dropDatabase", name: this.identifier() };
    this.notModelled(start);
  }

  private grant(deny: boolean, start: number): StatementBody {
    // Permission list: GRANT ALTER, CONTROL, VIEW DEFINITION ON AVAILABILITY GROUP::[ag] TO [login]
    const permissions: string[] = [];
    let words: string[] = [];
    for (;;) {
      if (this.peek()?.kind === "word" && !this.isWord("ON") && !this.isWord("TO")) words.push(this.next().value);
      else if (this.acceptPunct(",")) {
        permissions.push(words.join(" "));
        words = [];
      } else break;
    }
    permissions.push(words.join(" "));
    if (permissions.some((p) => p === "")) this.notModelled(start);
    let securableClass: string | undefined;
    let securable: string | undefined;
    if (this.acceptWord("ON")) {
      if (this.peek(1)?.value === "::") {
        securableClass = this.next().value;
        if (securableClass === "AVAILABILITY") securableClass = `AVAILABILITY ${this.next().value}`;
        this.expectPunct("::");
      } else if (this.isWord("AVAILABILITY") && this.isWord("GROUP", 1)) {
        this.pos += 2;
        securableClass = "AVAILABILITY GROUP";
        this.expectPunct("::");
      }
      securable = this.identifier();
    }
    this.expectWord("TO");
    const principal = this.identifier();
    const body: StatementBody = { type: "grant", permission: permissions.join(", "), principal, deny };
    if (securableClass) body.securableClass = securableClass;
    if (securable) body.securable = securable;
    return body;
  }

  private backup(start: number): StatementBody {
    const log = this.acceptWord("LOG");
    if (!log) this.expectWord("DATABASE");
    const name = this.identifier();
    this.expectWord("TO", "DISK");
    this.expectPunct("=");
    const disk = this.stringLiteral();
    if (this.acceptWord("WITH")) {
      do {
        const token = this.next();
        if (token.kind !== "word") this.notModelled(start);
        if (this.acceptPunct("=")) this.next();
      } while (this.acceptPunct(","));
    }
    return { type: "backupDatabase", name, log, disk };
  }
}

function safeInteger(text: string): number | bigint {
  const value = BigInt(text);
  return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

/** Find an option (case-insensitive name) in a DDL option list. */
export function findOption(options: DdlOption[], name: string): DdlOption | undefined {
  return options.find((o) => o.name === name);
}

/** The value of `NAME = value` as one string (multi-token values joined with spaces). */
export function optionText(options: DdlOption[], name: string): string | undefined {
  const option = findOption(options, name);
  return option ? option.values.map((v) => v.text).join(" ") : undefined;
}
