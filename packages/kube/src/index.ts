export * from "./lease-math.js";
export * from "./errors.js";
export * from "./kube-config.js";
export * from "./system-clock.js";
export * from "./lease-client.js";
export * from "./leader-elector.js";
