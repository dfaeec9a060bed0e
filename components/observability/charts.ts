import type { HelmValues } from "../controlPlane/helmValues";
import { type NamedObject, objectMeta } from "../meta";
import { GRAFANA_ADMIN_SECRET, grafanaValues } from "./grafana";
import { KIALI_SIGNING_SECRET, kialiValues } from "./kiali";
import { ADDON_CHARTS, type AddonRelease } from "./pins";
import { prometheusValues } from "./prometheus";
import { GRAFANA, KIALI, OBSERVABILITY_NAMESPACE, PROMETHEUS } from "./services";

export interface SecretShell extends NamedObject {
  readonly apiVersion: "v1";
  readonly kind: "Secret";
  readonly type: "Opaque";
}

/** The Secrets the charts read; their data (generated passwords) is added by the component. */
export function addonSecrets(): { grafanaAdmin: SecretShell; kialiSigningKey: SecretShell } {
  const shell = (name: string, app: string): SecretShell => ({
    apiVersion: "v1",
    kind: "Secret",
    type: "Opaque",
    metadata: objectMeta(name, OBSERVABILITY_NAMESPACE, { app }),
  });
  return {
    grafanaAdmin: shell(GRAFANA_ADMIN_SECRET.name, "grafana"),
    kialiSigningKey: shell(KIALI_SIGNING_SECRET.name, "kiali"),
  };
}

/** Release names: the Grafana chart names its Service after the release ("grafana"). */
export function addonReleases(localUrls: { grafana: string; tracing: string }): AddonRelease[] {
  const release = (name: string, chart: AddonRelease["chart"], values: HelmValues): AddonRelease => ({
    name,
    chart,
    namespace: OBSERVABILITY_NAMESPACE,
    ...ADDON_CHARTS[chart],
    values,
  });
  return [
    release(PROMETHEUS.name, "prometheus", prometheusValues()),
    release(GRAFANA.name, "grafana", grafanaValues()),
    release(KIALI.name, "kiali-server", kialiValues(localUrls)),
  ];
}
