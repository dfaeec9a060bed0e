import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { PLAIN, styleFor } from "../tools/lib/style";
import { buildReport, formatTable } from "../tools/verify/report";
import type { CheckRow } from "../tools/verify/types";

const rows: CheckRow[] = [
  { check: "jwt", subject: "/users no token", expected: "403", observed: "403", verdict: "pass" },
  { check: "canary-split", subject: "user-service split", expected: "v1 90%", observed: "v1 80%", verdict: "fail" },
  { check: "mtls", subject: "", expected: "", observed: "no kubeconfig", verdict: "skip" },
];
const report = buildReport(rows, { source: "test", gateway: "http://127.0.0.1:1", seed: 1, alpha: 0.001 });
const ESC = "\x1b";
const stripAnsi = (text: string) => text.replace(new RegExp(`${ESC}\\[[0-9;]*m`, "g"), "");
const coloured = (code: number, text: string) => `${ESC}[${code}m${text}${ESC}[0m`;

describe("verify's table for people", () => {
  test("piped (not a TTY): plain text, columns aligned, no escape codes", () => {
    const text = formatTable(report, styleFor({ isTTY: false }, {}));
    assert.equal(text, formatTable(report, PLAIN));
    assert.ok(!text.includes(ESC));
    const [jwt, canary, mtls] = text.split("\n").slice(4, 7);
    assert.equal(jwt?.indexOf("PASS"), canary?.indexOf("FAIL"));
    assert.equal(jwt?.indexOf("PASS"), mtls?.indexOf("skip"));
    assert.match(text, /1 check\(s\) FAILED\.$/);
  });

  test("on a TTY: pass green, fail red, skip grey, and the same text underneath", () => {
    const text = formatTable(report, styleFor({ isTTY: true }, {}));
    assert.ok(text.includes(coloured(32, "PASS")));
    assert.ok(text.includes(coloured(31, "FAIL")));
    assert.ok(text.includes(coloured(90, "skip")));
    assert.ok(text.includes(coloured(31, "1 check(s) FAILED.")));
    assert.equal(stripAnsi(text), formatTable(report, PLAIN));
  });

  test("NO_COLOR turns colour off on a TTY", () => {
    assert.ok(!formatTable(report, styleFor({ isTTY: true }, { NO_COLOR: "1" })).includes(ESC));
  });
});
