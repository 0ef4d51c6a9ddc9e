/**
 * The subset of the Kubernetes OpenAPI v3 schema (apiextensions.k8s.io/v1 JSONSchemaProps) that sqlag's CRDs
 * use, and small builders that make every node carry a description. The builders exist so that a schema
 * node cannot be written without saying what the field means, its unit and its default: that text is what
 * `kubectl explain` shows.
 */

/** One CEL rule (`x-kubernetes-validations` entry). `message` must say what to change. */
export interface CelValidation {
  rule: string;
  message: string;
  messageExpression?: string;
  /** Extra path appended to the field path of the error (e.g. `.replicas`), so `kubectl` points at the field. */
  fieldPath?: string;
  /** Never FieldValueDuplicate: the apiserver prints a Duplicate error without its message. */
  reason?: "FieldValueInvalid" | "FieldValueForbidden" | "FieldValueRequired";
}

export interface JsonSchemaProps {
  type?: "object" | "array" | "string" | "integer" | "number" | "boolean";
  description?: string;
  format?: string;
  properties?: Record<string, JsonSchemaProps>;
  required?: string[];
  items?: JsonSchemaProps;
  additionalProperties?: JsonSchemaProps;
  enum?: readonly (string | number)[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  maxProperties?: number;
  "x-kubernetes-validations"?: CelValidation[];
  "x-kubernetes-list-type"?: "atomic" | "set" | "map";
  "x-kubernetes-list-map-keys"?: string[];
  "x-kubernetes-map-type"?: "atomic" | "granular";
  "x-kubernetes-preserve-unknown-fields"?: boolean;
}

/** Options every builder accepts; `rules` become `x-kubernetes-validations`. */
export interface NodeOptions {
  default?: unknown;
  rules?: CelValidation[];
}

function withCommon(node: JsonSchemaProps, options: NodeOptions): JsonSchemaProps {
  if (options.default !== undefined) node.default = options.default;
  if (options.rules !== undefined && options.rules.length > 0) node["x-kubernetes-validations"] = options.rules;
  return node;
}

export interface StringOptions extends NodeOptions {
  /** Required on every string: the apiserver's CEL cost estimator needs a bound. */
  maxLength: number;
  minLength?: number;
  pattern?: string;
  format?: string;
}

export function stringProp(description: string, options: StringOptions): JsonSchemaProps {
  const node: JsonSchemaProps = { type: "string", description };
  if (options.format !== undefined) node.format = options.format;
  if (options.minLength !== undefined) node.minLength = options.minLength;
  node.maxLength = options.maxLength;
  if (options.pattern !== undefined) node.pattern = options.pattern;
  return withCommon(node, options);
}

export function enumProp(description: string, values: readonly string[], options: NodeOptions = {}): JsonSchemaProps {
  return withCommon({ type: "string", description, enum: [...values] }, options);
}

export interface IntegerOptions extends NodeOptions {
  format?: "int32" | "int64";
  minimum?: number;
  maximum?: number;
}

export function integerProp(description: string, options: IntegerOptions = {}): JsonSchemaProps {
  const node: JsonSchemaProps = { type: "integer", description, format: options.format ?? "int32" };
  if (options.minimum !== undefined) node.minimum = options.minimum;
  if (options.maximum !== undefined) node.maximum = options.maximum;
  return withCommon(node, options);
}

export function booleanProp(description: string, options: NodeOptions = {}): JsonSchemaProps {
  return withCommon({ type: "boolean", description }, options);
}

export interface ObjectOptions extends NodeOptions {
  required?: string[];
}

export function objectProp(description: string, properties: Record<string, JsonSchemaProps>, options: ObjectOptions = {}): JsonSchemaProps {
  const node: JsonSchemaProps = { type: "object", description, properties };
  if (options.required !== undefined && options.required.length > 0) node.required = [...options.required];
  return withCommon(node, options);
}

export interface MapOptions extends NodeOptions {
  /** Required: bounds CEL cost and the object size. */
  maxProperties: number;
}

/** An object with free-form keys (`map[string]T`), e.g. nodeSelector or mssqlConf. */
export function mapProp(description: string, values: JsonSchemaProps, options: MapOptions): JsonSchemaProps {
  return withCommon({ type: "object", description, additionalProperties: values, maxProperties: options.maxProperties }, options);
}

export interface ArrayOptions extends NodeOptions {
  /** Required: bounds CEL cost. */
  maxItems: number;
  minItems?: number;
  listType?: "atomic" | "set" | "map";
  listMapKeys?: string[];
}

export function arrayProp(description: string, items: JsonSchemaProps, options: ArrayOptions): JsonSchemaProps {
  const node: JsonSchemaProps = { type: "array", description, items };
  if (options.minItems !== undefined) node.minItems = options.minItems;
  node.maxItems = options.maxItems;
  if (options.listType !== undefined) node["x-kubernetes-list-type"] = options.listType;
  if (options.listMapKeys !== undefined) node["x-kubernetes-list-map-keys"] = [...options.listMapKeys];
  return withCommon(node, options);
}

/** A CEL rule comparing with the stored object: it runs on updates only, when an old value exists. */
export function immutable(field: string, whatToDo: string): CelValidation {
  return { rule: "self == oldSelf", message: `${field} is immutable: ${whatToDo}` };
}
