import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { generate } from "selfsigned";
import { WebSocketServer } from "ws";
import { clusterTransport, kubeTransport } from "../tools/verify/kube";
import type { ClusterTransport } from "../tools/verify/types";

/**
 * The real in-cluster transport (@kubernetes/client-node) against a stand-in API server on
 * 127.0.0.1: TLS with a test CA, a bearer token, GETs, and exec over the channel.k8s.io websocket.
 */
const TOKEN = "test-token";
let server: https.Server;
let transport: ClusterTransport;
let kubeconfigText = "";
const execPaths: string[] = [];

before(async () => {
  const ca = await generate([{ name: "commonName", value: "test cluster CA" }], {
    keyType: "ec",
    algorithm: "sha256",
    extensions: [
      { name: "basicConstraints", cA: true },
      { name: "keyUsage", keyCertSign: true, cRLSign: true },
    ],
  });
  const leaf = await generate([{ name: "commonName", value: "kube-apiserver" }], {
    keyType: "ec",
    algorithm: "sha256",
    ca: { key: ca.private, cert: ca.cert },
    extensions: [{ name: "subjectAltName", altNames: [{ type: 7, ip: "127.0.0.1" }] }],
  });
  server = https.createServer({ cert: leaf.cert, key: leaf.private }, (req, res) => {
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      res.writeHead(401).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ path: req.url }));
  });
  const sockets = new WebSocketServer({ server, handleProtocols: (protocols) => [...protocols][0] ?? false });
  sockets.on("connection", (ws, req) => {
    const url = new URL(req.url ?? "/", "https://apiserver");
    execPaths.push(`${url.pathname}?${url.searchParams.toString()}`);
    const frame = (channel: number, text: string) => Buffer.concat([Buffer.from([channel]), Buffer.from(text)]);
    const failing = url.searchParams.getAll("command").includes("http://refused");
    if (failing) {
      ws.send(frame(1, "000"));
      ws.send(frame(2, "curl: (56) Recv failure: Connection reset by peer\n"));
      ws.send(
        frame(
          3,
          JSON.stringify({
            status: "Failure",
            reason: "NonZeroExitCode",
            details: { causes: [{ reason: "ExitCode", message: "56" }] },
          }),
        ),
      );
    } else {
      ws.send(frame(1, "200"));
      ws.send(frame(3, JSON.stringify({ status: "Success" })));
    }
    ws.close();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const kubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: https://127.0.0.1:${port}
    certificate-authority-data: ${Buffer.from(ca.cert).toString("base64")}
users:
- name: tester
  user:
    token: ${TOKEN}
contexts:
- name: test
  context: { cluster: test, user: tester }
current-context: test
`;
  kubeconfigText = kubeconfig;
  transport = await kubeTransport(kubeconfig);
});

after(() => {
  server.closeAllConnections();
  server.close();
});

describe("kube transport (@kubernetes/client-node) against a stand-in API server", () => {
  it("GETs through the kubeconfig's TLS and credentials, keeping the query", async () => {
    const path = "/api/v1/namespaces/istio-system/services/prometheus:9090/proxy/api/v1/query?query=up";
    const r = await transport.get(path);
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), { path });
  });

  it("execs a command and returns stdout and the exit status", async () => {
    const ok = await transport.exec("backend", "mesh-client-0", "curl", ["curl", "-sS", "http://user-service"]);
    assert.deepEqual(ok, { stdout: "200", stderr: "", exitCode: 0 });
    const refused = await transport.exec("outside", "outside-client-0", "curl", ["curl", "http://refused"]);
    assert.equal(refused.exitCode, 56);
    assert.equal(refused.stdout, "000");
    assert.match(refused.stderr, /Connection reset/);
    assert.match(execPaths[0] ?? "", /^\/api\/v1\/namespaces\/backend\/pods\/mesh-client-0\/exec\?/);
    assert.match(execPaths[0] ?? "", /container=curl/);
    assert.match(execPaths[0] ?? "", /command=curl&command=-sS&command=http%3A%2F%2Fuser-service/);
  });

  it("takes the stack's cluster access: content, a file, or kubectl's default with the stack's context", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "kube-test-"));
    const savedKubeconfig = process.env.KUBECONFIG;
    try {
      const file = path.join(dir, "kubeconfig");
      writeFileSync(file, kubeconfigText);
      const fromFile = await clusterTransport({ kubeconfigPath: file, context: "test" });
      assert.equal((await fromFile?.get("/version"))?.status, 200);
      await assert.rejects(clusterTransport({ kubeconfig: kubeconfigText, context: "kind-lab-cluster" }), /no context/);
      // kubectl's default kubeconfig ($KUBECONFIG) without kind's context: in-cluster checks skip.
      process.env.KUBECONFIG = file;
      assert.equal(await clusterTransport({ context: "kind-lab-cluster" }), undefined);
      assert.ok(await clusterTransport({ context: "test" }));
    } finally {
      if (savedKubeconfig === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = savedKubeconfig;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
