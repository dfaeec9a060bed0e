/**
 * Outputs @pulumi/tls would compute, for the mock engines: a real RSA key pair (the program derives
 * the JWKS and signs the demo token with it), a real certificate for the certificates (a fixed
 * self-signed one: the gateway-credential check parses what the Secret holds, as istiod does), and a
 * placeholder PEM for certificate requests. The key pair is a fixed throwaway 2048-bit key that no
 * stack uses (tests/fixtures/mock-tls-key.pem): generating one cost every test process ~0.4 s of CPU.
 */
import { createPrivateKey, createPublicKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const FIXTURES = join(__dirname, "..", "fixtures");
const CERTIFICATE = readFileSync(join(FIXTURES, "analysis", "web-cert.pem"), "utf8");

let keyPair: { publicKeyPem: string; privateKeyPem: string; privateKeyPemPkcs8: string } | undefined;

export function mockKeyPair() {
  if (!keyPair) {
    const privateKey = createPrivateKey(readFileSync(join(FIXTURES, "mock-tls-key.pem"), "utf8"));
    const publicKey = createPublicKey(privateKey);
    keyPair = {
      publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
      privateKeyPem: privateKey.export({ type: "pkcs1", format: "pem" }).toString(),
      privateKeyPemPkcs8: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    };
  }
  return keyPair;
}

const pem = (label: string, name: string) => `-----BEGIN ${label}-----\nmock ${name}\n-----END ${label}-----\n`;

/** Extra state for a tls resource, or nothing for other types. */
export function tlsOutputs(type: string, name: string): Record<string, unknown> {
  switch (type) {
    case "tls:index/privateKey:PrivateKey":
      return { ...mockKeyPair() };
    case "tls:index/selfSignedCert:SelfSignedCert":
    case "tls:index/locallySignedCert:LocallySignedCert":
      return { certPem: CERTIFICATE };
    case "tls:index/certRequest:CertRequest":
      return { certRequestPem: pem("CERTIFICATE REQUEST", name) };
    default:
      return {};
  }
}
