import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type { JwtConfig } from "../../config/types";
import { meshDefaultResourceName } from "../meshScope";
import { asArgs, type NamedObject } from "../meta";
import { tlsSecretData } from "./https";
import { DEMO_SUBJECT, demoTokenWindow, jwksFromPublicKey, mintToken, signingKeyArgs } from "./jwt";
import type { SecuritySpec } from "./spec";

export interface MeshSecurityArgs {
  readonly spec: SecuritySpec;
  readonly jwt: JwtConfig;
  /** Clock reading (ms) that picks the demo token's window. */
  readonly now: number;
  /**
   * The Istio CRDs (istio-base) and istiod's validation and injection webhooks; none when the cluster's
   * own control plane serves them (`existingIstio`).
   */
  readonly crds: readonly pulumi.Resource[];
  readonly istiod: readonly pulumi.Resource[];
  readonly backendNamespace: pulumi.Resource;
  /** Where the gateway reads credentialName Secrets. */
  readonly ingressNamespace: pulumi.Resource;
  /** The namespaces this stack creates, by name: each mesh default waits for its own (meshScope.ts). */
  readonly stackNamespaces: Readonly<Record<string, pulumi.Resource>>;
}

/**
 * mTLS, JWT, authorization, the rate limit, the HTTPS certificate and the probe clients. Each
 * object waits only for what it needs: Istio objects for the CRDs, istiod and their namespace; the
 * TLS Secret for its namespace; mesh-client for istiod's injector.
 */
export class MeshSecurity extends pulumi.ComponentResource {
  readonly demoToken: pulumi.Output<string>;
  readonly demoTokenExpiresAt: string;
  readonly caCert: pulumi.Output<string>;
  readonly jwtSigningKey: pulumi.Output<string>;

  constructor(name: string, args: MeshSecurityArgs, opts?: pulumi.ComponentResourceOptions) {
    super("istio-mesh:security:MeshSecurity", name, {}, opts);
    const { spec } = args;
    const istioDeps = [...args.crds, ...args.istiod, args.backendNamespace];
    const istioObject = (object: NamedObject, extra: Record<string, unknown> = {}) =>
      new k8s.apiextensions.CustomResource(
        object.metadata.name,
        { ...object, ...extra },
        { parent: this, dependsOn: istioDeps },
      );

    for (const policy of spec.meshPeerAuthentications) {
      const home = args.stackNamespaces[policy.metadata.namespace ?? ""];
      new k8s.apiextensions.CustomResource(meshDefaultResourceName(policy), policy, {
        parent: this,
        dependsOn: [...istioDeps, ...(home ? [home] : [])],
      });
    }
    istioObject(spec.peerAuthentication);
    for (const policy of spec.authorizationPolicies) istioObject(policy);
    if (spec.rateLimit) istioObject(spec.rateLimit);

    // JWT: the stack's own signing key; the JWKS and the demo token are derived from it.
    const signingKey = new tls.PrivateKey("jwt-signing-key", signingKeyArgs(), { parent: this });
    const jwks = signingKey.publicKeyPem.apply(jwksFromPublicKey);
    // Only the JWKS waits for the key (unknown in a new stack's first preview): the rest of the spec
    // stays known, so preview diffs and policies see the selector, issuer and audiences.
    const shell = spec.requestAuthentication;
    const jwtRules = (shell.spec?.jwtRules ?? []).map((rule) => ({ ...rule, jwks }));
    istioObject(shell, { spec: { ...shell.spec, jwtRules } });
    const window = demoTokenWindow(args.jwt.demoTokenTtl, args.now);
    this.demoTokenExpiresAt = new Date(window.expiresAt * 1000).toISOString();
    this.demoToken = pulumi.secret(
      signingKey.privateKeyPemPkcs8.apply((key) => mintToken(key, args.jwt, { subject: DEMO_SUBJECT, ...window })),
    );
    this.jwtSigningKey = pulumi.secret(signingKey.privateKeyPemPkcs8);

    // HTTPS: a demo CA and a leaf for the host, stored where the gateway's SDS looks for credentialName.
    const certs = spec.certificates;
    const caKey = new tls.PrivateKey("https-ca-key", { ...certs.key }, { parent: this });
    const ca = new tls.SelfSignedCert(
      "https-ca",
      { ...certs.ca, allowedUses: [...certs.ca.allowedUses], privateKeyPem: caKey.privateKeyPem },
      { parent: this },
    );
    const leafKey = new tls.PrivateKey("https-leaf-key", { ...certs.key }, { parent: this });
    const request = new tls.CertRequest(
      "https-leaf-request",
      { ...certs.leafRequest, dnsNames: [...certs.leafRequest.dnsNames], privateKeyPem: leafKey.privateKeyPem },
      { parent: this },
    );
    const leaf = new tls.LocallySignedCert(
      "https-leaf",
      {
        ...certs.leaf,
        allowedUses: [...certs.leaf.allowedUses],
        certRequestPem: request.certRequestPem,
        caPrivateKeyPem: caKey.privateKeyPem,
        caCertPem: ca.certPem,
      },
      { parent: this },
    );
    new k8s.core.v1.Secret(
      spec.tlsSecret.metadata.name,
      {
        ...asArgs<k8s.core.v1.SecretArgs>(spec.tlsSecret),
        stringData: pulumi.secret(
          pulumi.all([leaf.certPem, leafKey.privateKeyPem]).apply(([c, k]) => tlsSecretData(c, k)),
        ),
      },
      { parent: this, dependsOn: [args.ingressNamespace] },
    );
    this.caCert = ca.certPem;

    if (spec.probeClients) this.probeClients(spec.probeClients, args);

    this.registerOutputs({ caCert: this.caCert, demoToken: this.demoToken });
  }

  private probeClients(clients: NonNullable<SecuritySpec["probeClients"]>, args: MeshSecurityArgs): void {
    const outside = new k8s.core.v1.Namespace(clients.namespace.metadata.name, clients.namespace, { parent: this });
    const [meshAccount, outsideAccount] = clients.serviceAccounts.map(
      (sa) =>
        new k8s.core.v1.ServiceAccount(sa.metadata.name, sa, {
          parent: this,
          dependsOn: [sa.metadata.namespace === clients.namespace.metadata.name ? outside : args.backendNamespace],
        }),
    );
    const [meshClient, outsideClient] = clients.deployments;
    const deployment = (spec: NamedObject, dependsOn: (pulumi.Resource | undefined)[]) =>
      new k8s.apps.v1.Deployment(spec.metadata.name, asArgs<k8s.apps.v1.DeploymentArgs>(spec), {
        parent: this,
        dependsOn: dependsOn.filter((d): d is pulumi.Resource => d !== undefined),
      });
    // mesh-client gets a sidecar, so it waits for istiod's injector; outside-client has none.
    deployment(meshClient, [args.backendNamespace, ...args.istiod, meshAccount]);
    deployment(outsideClient, [outside, outsideAccount]);
  }
}
