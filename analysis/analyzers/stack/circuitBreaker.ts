/**
 * Our own (MESH0004, Warning): a DestinationRule connection pool admits, per client Envoy,
 * maxConnections + one connection per endpoint and worker + http1MaxPendingRequests requests in flight
 * (the same sum tools/verify/plan.ts burstPlans uses). Below the concurrency verify and bench send by
 * default, their load itself trips the breaker and reads as a failure of the service.
 */
import { record, text } from "../../../policies/lib/kube";
import { matchesLabels } from "../../labels";
import { MESH } from "../../messages";
import { type Analyzer, type Finding, finding } from "../../model";
import { serviceNameOfHost } from "../../registry";

const NAME = "stack.CircuitBreakerAnalyzer";

export const circuitBreaker: Analyzer = {
  name: NAME,
  description: "Checks that a connection pool admits the concurrency the project's tools send",
  mirrors: "our own: concurrency is tools/verify/plan.ts DEFAULT_CONCURRENCY, workers ENVOY_WORKERS",
  inputs: ["DestinationRule", "Service", "Deployment"],
  codes: ["MESH0004"],
  analyze(ctx) {
    const out: Finding[] = [];
    for (const dr of ctx.all("DestinationRule")) {
      const spec = record(dr.body.spec);
      const pool = record(record(spec.trafficPolicy).connectionPool);
      const maxConnections = record(pool.tcp).maxConnections;
      const pending = record(pool.http).http1MaxPendingRequests;
      if (typeof maxConnections !== "number" || typeof pending !== "number") continue;
      const host = serviceNameOfHost(dr.namespace ?? "default", text(spec.host) ?? "");
      const service = ctx.find("Service", host.namespace, host.name);
      if (!service) continue;
      const selector = record(record(service.body.spec).selector) as Record<string, string>;
      const endpoints = ctx
        .runningWorkloads()
        .filter((w) => w.namespace === host.namespace && matchesLabels(selector, w.labels))
        .reduce((sum, w) => sum + w.replicas, 0);
      const { concurrency, envoyWorkers } = ctx.load;
      const capacity = maxConnections + endpoints * envoyWorkers + pending;
      if (capacity >= concurrency) continue;
      out.push(
        finding(NAME, dr, MESH.CircuitBreakerBelowConcurrency, [
          `${host.name}.${host.namespace}`,
          capacity,
          maxConnections,
          endpoints,
          envoyWorkers,
          pending,
          concurrency,
        ]),
      );
    }
    return out;
  },
};
