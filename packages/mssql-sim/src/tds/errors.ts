/** Errors raised inside the TDS layer. Each carries what the connection should do about it. */

/** Prefix of every message for behaviour the simulator does not implement (issue 3, deliverable 3). */
export const NOT_MODELLED_PREFIX = "mssql-sim does not model: ";

/**
 * A request the protocol layer understood well enough to know it cannot serve it (an RPC parameter type, a
 * packet type, a TDS version). The connection answers with an ERROR token and keeps going where it can.
 */
export class NotModelledError extends Error {
  constructor(what: string, options?: ErrorOptions) {
    super(NOT_MODELLED_PREFIX + what, options);
    this.name = "NotModelledError";
  }
}

/** Bytes that do not follow MS-TDS. The connection cannot resynchronise after this and closes. */
export class TdsProtocolError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TdsProtocolError";
  }
}

/** An engine-supplied value that does not fit its declared column type (an engine bug, reported loudly). */
export class ValueEncodingError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ValueEncodingError";
  }
}
