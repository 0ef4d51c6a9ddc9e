import type { KubernetesObject } from "@kubernetes/client-node";

export interface RenderContext {
  /** Generates random secrets (only used for objects created once). */
  randomSecret(): string;
}

export interface RenderedObjects {
  /** Applied with server-side apply (field manager sqlag-controller) on every reconcile, owner ref to the CR. */
  applied: KubernetesObject[];
  /**
   * Created once if missing and never updated by the controller (the <ag>-hadr Secret shell with generated
   * passwords, the empty Lease); owner ref to the CR.
   */
  createIfMissing: KubernetesObject[];
}
