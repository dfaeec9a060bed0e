/**
 * Istio's schemas, as published in @kubernetes-models/istio (generated from Istio's CRDs), for every
 * kind the program builds. ESM-only, so loaded with import(); one place for every test that validates.
 */
export async function istioModels() {
  const [
    { Gateway },
    { VirtualService },
    { DestinationRule },
    { ServiceEntry },
    { EnvoyFilter },
    { PeerAuthentication },
    { AuthorizationPolicy },
    { RequestAuthentication },
    { Telemetry },
  ] = await Promise.all([
    import("@kubernetes-models/istio/networking.istio.io/v1/Gateway"),
    import("@kubernetes-models/istio/networking.istio.io/v1/VirtualService"),
    import("@kubernetes-models/istio/networking.istio.io/v1/DestinationRule"),
    import("@kubernetes-models/istio/networking.istio.io/v1/ServiceEntry"),
    import("@kubernetes-models/istio/networking.istio.io/v1alpha3/EnvoyFilter"),
    import("@kubernetes-models/istio/security.istio.io/v1/PeerAuthentication"),
    import("@kubernetes-models/istio/security.istio.io/v1/AuthorizationPolicy"),
    import("@kubernetes-models/istio/security.istio.io/v1/RequestAuthentication"),
    import("@kubernetes-models/istio/telemetry.istio.io/v1/Telemetry"),
  ]);
  return {
    Gateway,
    VirtualService,
    DestinationRule,
    ServiceEntry,
    EnvoyFilter,
    PeerAuthentication,
    AuthorizationPolicy,
    RequestAuthentication,
    Telemetry,
  };
}
