import type { Secret } from "kubernetes-types/core/v1";
import type { MeshConfig } from "../../config/types";
import { INGRESS_NAMESPACE, type NamedObject, objectMeta } from "../meta";
import type { GatewayServer } from "../traffic/gateway";

export type SecretSpec = Secret & NamedObject;

/** The Gateway's credentialName: istiod's SDS reads it from the gateway pod's own namespace. */
export const HTTPS_CREDENTIAL = "api-cert";

/** HTTPS on 443 for the configured host (lab Step 3-1), terminated at the ingress gateway. */
export function httpsServer(cfg: MeshConfig): GatewayServer {
  return {
    port: { number: 443, name: "https", protocol: "HTTPS" },
    hosts: [cfg.security.httpsHost],
    tls: { mode: "SIMPLE", credentialName: HTTPS_CREDENTIAL },
  };
}

/** The `kubernetes.io/tls` Secret, without its data (the keys exist only once the stack made them). */
export function tlsSecret(): SecretSpec {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: objectMeta(HTTPS_CREDENTIAL, INGRESS_NAMESPACE),
    type: "kubernetes.io/tls",
  };
}

export const tlsSecretData = (certPem: string, keyPem: string) => ({ "tls.crt": certPem, "tls.key": keyPem });

const HOURS_PER_DAY = 24;

/** Arguments of the @pulumi/tls resources: a one-year demo CA and a 90-day leaf, renewed 30/15 days early. */
export function certificateArgs(cfg: MeshConfig) {
  const host = cfg.security.httpsHost;
  return {
    key: { algorithm: "ECDSA", ecdsaCurve: "P256" },
    ca: {
      isCaCertificate: true,
      subject: { commonName: "istio-mesh demo CA", organization: "istio-mesh" },
      validityPeriodHours: 365 * HOURS_PER_DAY,
      earlyRenewalHours: 30 * HOURS_PER_DAY,
      allowedUses: ["cert_signing", "crl_signing"],
    },
    leafRequest: { subject: { commonName: host, organization: "istio-mesh" }, dnsNames: [host] },
    leaf: {
      validityPeriodHours: 90 * HOURS_PER_DAY,
      earlyRenewalHours: 15 * HOURS_PER_DAY,
      allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
    },
  } as const;
}
