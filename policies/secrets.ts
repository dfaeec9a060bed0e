/**
 * Credentials stay secret. A policy cannot see whether a value is secret: @pulumi/policy hands every
 * policy plain values (pulumi/pulumi-policy#241), stack outputs included. What it can see is the
 * mechanism that keeps them secret (`additionalSecretOutputs`, which the stack outputs derived from
 * those fields inherit) and credentials written where nothing keeps them secret.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { containersOf, isKind, list, objectRef, type Props, podTemplates, record, text } from "./lib/kube";

interface SecretSource {
  readonly type: string;
  readonly fields: readonly string[];
  readonly what: string;
  /** Narrows a type whose outputs are only sometimes credentials. */
  readonly when?: (props: Props) => boolean;
}

const printsKubeconfig = (props: Props) =>
  /kubeconfig/i.test(`${text(props.create) ?? ""} ${text(props.update) ?? ""}`);

/** Resource outputs that carry credentials, and the fields that must be marked secret. */
export const SECRET_SOURCES: readonly SecretSource[] = [
  { type: "command:local:Command", fields: ["stdout"], what: "a kubeconfig", when: printsKubeconfig },
  { type: "command:remote:Command", fields: ["stdout"], what: "a kubeconfig", when: printsKubeconfig },
  {
    type: "tls:index/privateKey:PrivateKey",
    fields: ["privateKeyPem", "privateKeyOpenssh", "privateKeyPemPkcs8"],
    what: "a private key",
  },
  { type: "random:index/randomPassword:RandomPassword", fields: ["result", "bcryptHash"], what: "a password" },
  { type: "random:index/randomBytes:RandomBytes", fields: ["base64", "hex"], what: "key material" },
  { type: "kubernetes:core/v1:Secret", fields: ["data", "stringData"], what: "Secret data" },
];

const PEM_PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;
const KUBECONFIG_CREDENTIAL = /kind:\s*Config[\s\S]*(client-key-data|token:|password:)/;
const JWT = /\beyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]{10,}/;
const CREDENTIAL_NAME = /(PASSWORD|PASSWD|TOKEN|SECRET|PRIVATE_?KEY|API_?KEY|ACCESS_?KEY)/i;

function credentialIn(value: string): string | undefined {
  if (PEM_PRIVATE_KEY.test(value)) return "a PEM private key";
  if (KUBECONFIG_CREDENTIAL.test(value)) return "a kubeconfig with credentials";
  if (JWT.test(value)) return "a JWT";
  return undefined;
}

export const credentialsStaySecret: ResourceValidationPolicy = {
  name: "credentials-stay-secret",
  description:
    "Kubeconfigs, private keys, tokens and passwords stay Pulumi secrets: the outputs that carry them are in " +
    "additionalSecretOutputs (so stack outputs built from them are secret too), and none sits in plain text in a " +
    "ConfigMap or a container's env.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    const marked = new Set(args.opts.additionalSecretOutputs);
    for (const source of SECRET_SOURCES) {
      if (args.type !== source.type || (source.when && !source.when(args.props))) continue;
      const unmarked = source.fields.filter((f) => !marked.has(f));
      if (unmarked.length > 0) {
        reportViolation(
          `${args.type} ${args.name} outputs ${source.what} in ${unmarked.join(", ")}, which is not secret: ` +
            `add { additionalSecretOutputs: [${unmarked.map((f) => `"${f}"`).join(", ")}] }`,
        );
      }
    }

    if (isKind(args.type, "core", "ConfigMap")) {
      for (const [key, value] of Object.entries(record(args.props.data))) {
        const found = typeof value === "string" ? credentialIn(value) : undefined;
        if (found) reportViolation(`ConfigMap ${objectRef(args.props)} data.${key} holds ${found}; put it in a Secret`);
      }
    }
    for (const pod of podTemplates(args.type, args.props)) {
      for (const c of [...containersOf(pod, "initContainers"), ...containersOf(pod)]) {
        for (const e of list(c.props.env).map(record)) {
          const name = text(e.name) ?? "";
          const value = text(e.value);
          if (!value) continue;
          const found = credentialIn(value) ?? (CREDENTIAL_NAME.test(name) ? "a credential" : undefined);
          if (found) {
            reportViolation(
              `${objectRef(args.props)} container "${c.name}" env ${name} holds ${found} in plain text; ` +
                "use valueFrom.secretKeyRef",
            );
          }
        }
      }
    }
  },
};

export const secretPolicies = [credentialsStaySecret] as const;
