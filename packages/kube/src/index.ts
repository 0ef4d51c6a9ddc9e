export * from "./lease-math.js";
