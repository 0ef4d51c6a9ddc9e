import { AsyncLocalStorage } from "node:async_hooks";
import { createConfiguration, KubeConfig, ServerConfiguration, type Configuration, type Middleware } from "@kubernetes/client-node";

/**
 * Every API call carries an AbortSignal (CONVENTIONS 4), but client-node 2 offers no per-call signal
 * parameter, and KubernetesObjectApi ignores per-call middleware. So the signal travels in an
 * AsyncLocalStorage and one middleware installed on every client copies it onto the request, where the fetch
 * layer honours it.
 */
const currentSignal = new AsyncLocalStorage<AbortSignal>();

export function withSignal<T>(signal: AbortSignal, call: () => Promise<T>): Promise<T> {
  return currentSignal.run(signal, call);
}

const signalMiddleware: Middleware = {
  pre: async (context) => {
    const signal = currentSignal.getStore();
    if (signal !== undefined) context.setSignal(signal);
    return context;
  },
  post: async (response) => response,
};

/** A client Configuration for `kc`'s current cluster whose requests honour `withSignal`. */
export function makeSignalAwareConfiguration(kc: KubeConfig): Configuration {
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new Error("The kubeconfig has no current cluster; set KUBECONFIG or run in a pod.");
  return createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: kc },
    promiseMiddleware: [signalMiddleware],
  });
}

/** Builds a generated API client (CoordinationV1Api, CoreV1Api, …) that honours `withSignal`. */
export function makeApiClient<T>(kc: KubeConfig, apiClass: new (configuration: Configuration) => T): T {
  return new apiClass(makeSignalAwareConfiguration(kc));
}

/** Loads the kubeconfig the way kubectl does (KUBECONFIG, ~/.kube/config, or the in-cluster service account). */
export function loadKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  return kc;
}
