/** Syntax tree of the T-SQL subset the simulator recognises (see parser.ts for the grammar). */

export type Expr =
  | { type: "literal"; value: string | number | bigint | boolean | Buffer | null }
  | { type: "variable"; name: string } // upper-cased, includes '@'
  | { type: "global"; name: string } // @@SERVERNAME → "@@SERVERNAME"
  | { type: "column"; qualifier?: string; name: string } // lower-cased
  | { type: "call"; name: string; args: Expr[]; star?: boolean; castType?: TypeName }
  | { type: "binary"; op: string; left: Expr; right: Expr }
  | { type: "not"; operand: Expr }
  | { type: "negate"; operand: Expr }
  | { type: "isnull"; operand: Expr; negated: boolean }
  | { type: "in"; operand: Expr; list: Expr[]; negated: boolean }
  | { type: "inSelect"; operand: Expr; select: SelectStmt; negated: boolean }
  | { type: "like"; operand: Expr; pattern: Expr; negated: boolean }
  | { type: "exists"; select: SelectStmt; negated: boolean }
  | { type: "subquery"; select: SelectStmt }
  | { type: "case"; whens: { when: Expr; then: Expr }[]; otherwise?: Expr };

export interface TypeName {
  name: string; // upper-cased
  args: (number | "max")[];
}

export interface SelectItem {
  kind: "expr" | "star" | "assign";
  expr?: Expr;
  alias?: string;
  qualifier?: string; // for alias.*
  variable?: string; // for @v = expr
}

export interface TableSource {
  name: string[]; // dotted parts, lower-cased
  alias: string; // lower-cased; defaults to the last part
}

export interface Join {
  kind: "inner" | "left" | "cross";
  source: TableSource;
  on?: Expr;
}

export interface SelectStmt {
  distinct: boolean;
  top?: Expr;
  items: SelectItem[];
  from?: TableSource;
  joins: Join[];
  where?: Expr;
  orderBy: { expr: Expr; descending: boolean }[];
}

/** A DDL option: `NAME = value tokens` or `NAME (nested options)`. */
export interface DdlOption {
  name: string; // upper-cased
  values: OptionValue[]; // tokens after '=' up to ',' or ')'
  nested?: DdlOption[];
}

export type OptionValue = { kind: "word" | "string" | "number" | "binary" | "quoted" | "list"; text: string; list?: string[] };

export interface ReplicaSpec {
  serverName: string;
  options: DdlOption[];
}

export type AlterAgAction =
  | { kind: "join"; options: DdlOption[] }
  | { kind: "grantCreateDb"; deny: boolean }
  | { kind: "addDatabase"; databases: string[] }
  | { kind: "removeDatabase"; databases: string[] }
  | { kind: "addReplica"; replicas: ReplicaSpec[] }
  | { kind: "modifyReplica"; replica: ReplicaSpec }
  | { kind: "removeReplica"; serverName: string }
  | { kind: "failover" }
  | { kind: "forceFailover" }
  | { kind: "offline" }
  | { kind: "online" }
  | { kind: "set"; options: DdlOption[] };

export type Statement = { text: string; line: number } & StatementBody;

export type StatementBody =
  | { type: "select"; select: SelectStmt }
  | { type: "insert"; table: string[]; columns: string[]; values: Expr[] }
  | { type: "update"; table: string[]; assignments: { column: string; value: Expr }[]; where?: Expr }
  | { type: "delete"; table: string[]; where?: Expr }
  | { type: "createTable"; table: string[]; columns: { name: string; typeName: TypeName; primaryKey: boolean }[] }
  | { type: "use"; database: string }
  | { type: "setOption"; option: string }
  | { type: "setVariable"; variable: string; value: Expr }
  | { type: "declare"; variables: { name: string; typeName: TypeName; initial?: Expr }[] }
  | { type: "exec"; procedure: string[]; args: { name?: string; value: Expr; output: boolean }[]; returnVariable?: string }
  | { type: "execDynamic"; sql: Expr }
  | { type: "if"; condition: Expr; then: Statement; otherwise?: Statement }
  | { type: "block"; body: Statement[] }
  | { type: "waitfor"; delay: Expr }
  | { type: "print"; value: Expr }
  | { type: "createAg"; name: string; options: DdlOption[]; databases: string[]; replicas: ReplicaSpec[] }
  | { type: "alterAg"; name: string; action: AlterAgAction }
  | { type: "dropAg"; name: string }
  | { type: "createMasterKey"; password: string }
  | {
      type: "createCertificate";
      name: string;
      authorization?: string;
      subject?: string;
      fromBinary?: Buffer;
      fromFile?: string;
      privateKey?: DdlOption[];
    }
  | { type: "createEndpoint"; name: string; state?: string; tcp: DdlOption[]; protocol: string; mirroring: DdlOption[] }
  | { type: "alterEndpoint"; name: string; state?: string }
  | { type: "dropEndpoint"; name: string }
  | { type: "createLogin"; name: string; password?: string; fromCertificate?: string; options: DdlOption[] }
  | { type: "alterLogin"; name: string; password?: string; enable?: boolean }
  | { type: "createUser"; name: string; login?: string; withoutLogin: boolean }
  | { type: "grant"; permission: string; securableClass?: string; securable?: string; principal: string; deny: boolean }
  | { type: "alterServerRole"; role: string; member: string; add: boolean }
  | { type: "createDatabase"; name: string }
  | { type: "dropDatabase"; name: string }
  | { type: "alterDatabase"; name: string; setting: "recovery"; value: string }
  | { type: "alterDatabase"; name: string; setting: "hadr"; value: string; agName?: string }
  | { type: "backupDatabase"; name: string; log: boolean; disk: string };
