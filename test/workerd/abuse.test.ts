// The abuse suite (issue 6 "Hostile input"), written as an attacker would try it. Each attack is
// refused with the right status, and the test shows the refusal (and, where it matters, that
// nothing happened in cos-local). Some attacks also have narrower tests in api-*.test.ts.
import { afterAll, describe, expect, it } from "vitest";
import { api, expectError, expectNoSecretsSeen } from "./api-helpers";

afterAll(expectNoSecretsSeen);

describe("found by the fuzz (test/workerd/fuzz.test.ts)", () => {
  const as = "ab-fuzz";
  const prefix = `users/${as}/`;
  // JSON can carry "\ud800", a string with no UTF-8 form: presigning it threw URIError (a 500).
  const lone = `${prefix}x\ud800y.txt`;

  it.each([
    ["/v1/uploads", { key: lone, size: 1, contentType: "text/plain" }],
    ["/v1/objects/confirm", { key: lone }],
    ["/v1/objects/append", { key: lone, position: 0, size: 1 }],
    ["/v1/objects/download", { key: lone }],
    ["/v1/forms", { key: lone, contentType: "text/plain" }],
    ["/v1/authorize", { method: "PUT", key: lone, headers: { "content-length": 1, "content-type": "text/plain" } }],
  ])("%s: 400 naming body.key for a key with a lone UTF-16 surrogate", async (path, body) => {
    expectError(await api("POST", path, { as, body }), 400, "InvalidInput", "body.key");
  });

  it("a file name with a lone surrogate, or long enough to be cut inside an emoji, still gives a valid key", async () => {
    for (const filename of ["a\udc00b.txt", "\ud83d\ude00".repeat(100)]) {
      const res = await api("POST", "/v1/uploads", { as, body: { filename, size: 1, contentType: "text/plain" } });
      expect(res.status, res.text).toBe(200);
      expect(res.body.key.startsWith(prefix)).toBe(true);
      expect(() => encodeURIComponent(res.body.key)).not.toThrow();
    }
  });
});
