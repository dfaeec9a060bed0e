/**
 * Gateway API's schemas, as published in @kubernetes-models/gateway-api 2.0.0: generated from the
 * v1.5.x experimental channel (its HTTPRoute rules carry `retry` and `sessionPersistence`, its Gateway
 * `defaultScope`, as the v1.5.1 experimental CRDs do and the standard ones do not). ESM-only, so loaded
 * with import(); one place for every test that validates.
 */
export async function gatewayApiModels() {
  const [{ Gateway }, { HTTPRoute }, { ReferenceGrant }] = await Promise.all([
    import("@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/Gateway"),
    import("@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute"),
    // v1beta1: the version istiod 1.30.3 reads (tools/bench/inCluster/manifests.ts).
    import("@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1beta1/ReferenceGrant"),
  ]);
  return { Gateway, HTTPRoute, ReferenceGrant };
}
