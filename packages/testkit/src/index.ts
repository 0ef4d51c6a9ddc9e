export * from "./fake-clock.js";
export * from "./fake-api-error.js";
export * from "./fake-lease-store.js";
export * from "./fake-informer.js";
export * from "./seeded-random.js";
