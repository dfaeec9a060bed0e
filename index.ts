/**
 * istio-mesh: a kind cluster, Istio from Helm, the lab's backends, and their traffic, security,
 * egress and observability config.
 *
 *   config/<area>.ts      stack config → one validated MeshConfig (a bad value stops here)
 *   components/<area>/    pure spec builders (MeshConfig → plain objects) beside the
 *                         ComponentResource that registers them
 *   components/mesh.ts    the components, wired in dependency order; its return value is below
 */
import { deployMesh } from "./components/mesh";
import { loadMeshConfig } from "./config/load";

const config = loadMeshConfig();
const mesh = deployMesh(config);

export const clusterName = mesh.clusterName;
export const kubeconfig = mesh.kubeconfig;
export const gatewayUrls = mesh.gatewayUrls;
export const canaryWeights = mesh.canaryWeights;
export const dashboards = mesh.dashboards;
export const httpsHost = mesh.httpsHost;
export const caCert = mesh.caCert;
export const demoToken = mesh.demoToken;
export const demoTokenExpiresAt = mesh.demoTokenExpiresAt;
export const jwtSigningKey = mesh.jwtSigningKey;
