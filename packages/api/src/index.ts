export * from "./types.js";
export * from "./defaults.js";
export * from "./names.js";
export * from "./labels.js";
export * from "./contract.js";
export * from "./agent-env.js";
export * from "./clock.js";
