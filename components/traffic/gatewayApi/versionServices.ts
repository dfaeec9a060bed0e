import type { BackendService, MeshConfig } from "../../../config/types";
import { podLabels, type ServiceSpec, service } from "../../backends/workloads";
import { objectMeta } from "../../meta";

/**
 * Gateway API has no subsets: a route splits traffic between Services. So every version of a service
 * with more than one gets a Service of its own, selecting that version's pods, with the same port as
 * the service's own. They exist for every deployed version whatever the weights, so a canary shift
 * edits only HTTPRoute weights.
 */
export const versionServiceName = (svc: string, version: string) => `${svc}-${version}`;

export const routedByVersion = (cfg: MeshConfig): readonly BackendService[] =>
  cfg.backend.services.filter((s) => s.versions.length > 1);

export function versionServices(cfg: MeshConfig): readonly ServiceSpec[] {
  return routedByVersion(cfg).flatMap((svc) => {
    const whole = service(cfg, svc);
    return svc.versions.map((v) => ({
      ...whole,
      metadata: objectMeta(
        versionServiceName(svc.name, v.version),
        cfg.backend.namespace,
        podLabels(svc.name, v.version),
      ),
      spec: { ...whole.spec, selector: podLabels(svc.name, v.version) },
    }));
  });
}
