import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { helmRelease } from "../helm";
import { meshDefaultResourceName } from "../meshScope";
import { asArgs } from "../meta";
import type { SecretShell } from "./charts";
import type { DashboardLoad } from "./dashboardSource";
import { DASHBOARD_GROUPS, DASHBOARD_PROVIDERS, type DashboardProvider, dashboardConfigMap } from "./dashboards";
import { GRAFANA_ADMIN_SECRET, GRAFANA_ADMIN_USER } from "./grafana";
import { KIALI_SIGNING_SECRET } from "./kiali";
import type { ObservabilitySpec } from "./spec";

export interface ObservabilityArgs {
  readonly spec: ObservabilitySpec;
  /** istio-system: everything here lives in it; none when it is the cluster's own Istio's (`existingIstio`). */
  readonly namespace: readonly pulumi.Resource[];
  /** The Istio CRDs (istio-base): the Telemetry needs them; none when the cluster's Istio installed them. */
  readonly crds: readonly pulumi.Resource[];
  /**
   * istiod: only the Telemetry waits for it. Its validating webhook checks Istio objects, and
   * istio-base's validator lets anything through while istiod is down.
   */
  readonly istiod: readonly pulumi.Resource[];
  /** The namespaces this stack creates, by name: each Telemetry waits for its own (meshScope.ts). */
  readonly stackNamespaces: Readonly<Record<string, pulumi.Resource>>;
  /** The pinned Grafana dashboards, fetched and digest-checked when the program runs. */
  readonly dashboards: Promise<DashboardLoad>;
}

/**
 * Prometheus, Grafana, Kiali (Helm releases), Jaeger (plain objects) and the mesh-wide Telemetry.
 * None of the tools is injected and none waits for istiod, so they install beside the control plane
 * rather than after it; only the Telemetry (an Istio object, validated by istiod) waits for istiod.
 */
export class Observability extends pulumi.ComponentResource {
  readonly grafanaAdminPassword: pulumi.Output<string>;
  /** The Grafana admin and Kiali signing-key Secrets. */
  readonly secrets: readonly k8s.core.v1.Secret[];

  constructor(name: string, args: ObservabilityArgs, opts?: pulumi.ComponentResourceOptions) {
    super("istio-mesh:observability:Observability", name, {}, opts);
    const { spec } = args;
    const inNamespace = { parent: this, dependsOn: [...args.namespace] };

    const password = new random.RandomPassword(
      "grafana-admin-password",
      { length: 24, special: false },
      { parent: this },
    );
    const signingKey = new random.RandomPassword(
      "kiali-signing-key",
      { length: KIALI_SIGNING_SECRET.length, special: false },
      { parent: this },
    );
    this.grafanaAdminPassword = pulumi.secret(password.result);

    const secret = (shell: SecretShell, data: Record<string, pulumi.Input<string>>) =>
      new k8s.core.v1.Secret(
        shell.metadata.name,
        { ...asArgs<k8s.core.v1.SecretArgs>(shell), stringData: data },
        { ...inNamespace, additionalSecretOutputs: ["data", "stringData"] },
      );
    const grafanaAdmin = secret(spec.secrets.grafanaAdmin, {
      [GRAFANA_ADMIN_SECRET.userKey]: GRAFANA_ADMIN_USER,
      [GRAFANA_ADMIN_SECRET.passwordKey]: this.grafanaAdminPassword,
    });
    const kialiSigningKey = secret(spec.secrets.kialiSigningKey, {
      [KIALI_SIGNING_SECRET.key]: pulumi.secret(signingKey.result),
    });
    this.secrets = [grafanaAdmin, kialiSigningKey];

    const { jaeger } = spec;
    new k8s.core.v1.ConfigMap(jaeger.configMap.metadata.name, asArgs(jaeger.configMap), inNamespace);
    new k8s.apps.v1.Deployment(jaeger.deployment.metadata.name, asArgs(jaeger.deployment), inNamespace);
    for (const service of [jaeger.queryService, jaeger.collectorService]) {
      new k8s.core.v1.Service(service.metadata.name, asArgs(service), inNamespace);
    }

    const dashboardMaps = DASHBOARD_PROVIDERS.map(
      (provider) =>
        new k8s.core.v1.ConfigMap(
          DASHBOARD_GROUPS[provider].configMap,
          dashboardConfigMapArgs(provider, args.dashboards),
          inNamespace,
        ),
    );

    // Grafana and Kiali read their Secrets (Grafana its dashboards too) at pod start.
    const needs: Record<string, pulumi.Resource[]> = {
      grafana: [grafanaAdmin, ...dashboardMaps],
      kiali: [kialiSigningKey, grafanaAdmin],
    };
    for (const r of spec.releases) {
      helmRelease(r, { parent: this, dependsOn: [...args.namespace, ...(needs[r.name] ?? [])] });
    }

    for (const telemetry of spec.telemetries) {
      const home = args.stackNamespaces[telemetry.metadata.namespace ?? ""];
      new k8s.apiextensions.CustomResource(
        meshDefaultResourceName(telemetry),
        asArgs<k8s.apiextensions.CustomResourceArgs>(telemetry),
        { parent: this, dependsOn: [...args.namespace, ...(home ? [home] : []), ...args.crds, ...args.istiod] },
      );
    }

    this.registerOutputs({});
  }
}

/**
 * A dashboards ConfigMap whose data waits for the load. It never blocks evaluation: a dashboard that
 * could be neither read from the cache nor fetched is left out with a warning, and in a preview its
 * data stays unknown (shown as computed, not as a removal), so previews, tests and policy runs work
 * with no network. `up` then serves what it has; the next run with a network fills in the rest.
 */
function dashboardConfigMapArgs(provider: DashboardProvider, load: Promise<DashboardLoad>): k8s.core.v1.ConfigMapArgs {
  const mine = (missing: DashboardLoad["missing"]) =>
    missing.filter((m) => DASHBOARD_GROUPS[provider].dashboards.some((d) => d.file === m.file));
  const spec = pulumi.output(load).apply((loaded) => {
    const lacking = mine(loaded.missing);
    if (lacking.length === 0) return dashboardConfigMap(provider, loaded.contents);
    const list = lacking.map((m) => `${m.file} (${m.reason})`).join(", ");
    if (pulumi.runtime.isDryRun()) {
      pulumi.log.warn(`Grafana dashboards not available now, shown as computed: ${list}`);
      return pulumi.unknown as unknown as ReturnType<typeof dashboardConfigMap>;
    }
    pulumi.log.warn(`Grafana dashboards left out (run \`pulumi up\` again with a network to add them): ${list}`);
    return dashboardConfigMap(provider, loaded.contents);
  });
  const shell = dashboardConfigMap(provider, {});
  return {
    ...asArgs<k8s.core.v1.ConfigMapArgs>(shell),
    metadata: { ...shell.metadata, annotations: spec.apply((s) => s.metadata.annotations ?? {}) },
    data: spec.apply((s) => s.data ?? {}),
  };
}
