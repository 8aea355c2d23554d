// The abuse suite (issue 6 "Hostile input"), written as an attacker would try it. Each attack is
// refused with the right status, and the test shows the refusal (and, where it matters, that
// nothing happened in cos-local). Some attacks also have narrower tests in api-*.test.ts.
import { afterAll, describe, expect, it } from "vitest";
import { api, cos, expectError, expectNoSecretsSeen, remember } from "./api-helpers";

afterAll(expectNoSecretsSeen);

describe("widening a grant with key spellings", () => {
  const as = "ab-mallory";
  const prefix = `users/${as}/`;
  const escapes = [
    ["percent-encoded dots", `${prefix}%2e%2e/ab-victim/x.txt`],
    ["upper-case percent-encoded dots", `${prefix}%2E%2E/ab-victim/x.txt`],
    ["half-encoded dots", `${prefix}.%2e/ab-victim/x.txt`],
    ["an encoded slash after ..", `${prefix}..%2fab-victim/x.txt`],
    ["double-encoded dots", `${prefix}%252e%252e/ab-victim/x.txt`],
    ["fullwidth dots (U+FF0E)", `${prefix}\uff0e\uff0e/ab-victim/x.txt`],
    ["one-dot leaders (U+2024)", `${prefix}\u2024\u2024/ab-victim/x.txt`],
    ["a two-dot leader (U+2025)", `${prefix}\u2025/ab-victim/x.txt`],
    ["small full stops (U+FE52)", `${prefix}\ufe52\ufe52/ab-victim/x.txt`],
    ["a fullwidth solidus around ..", `${prefix}x\uff0f..\uff0fab-victim`],
    ["//", `${prefix}a//../ab-victim/x.txt`],
    ["an encoded //", `${prefix}a%2f%2fb.txt`],
    ["a backslash", `${prefix}..\\ab-victim\\x.txt`],
    ["an encoded backslash", `${prefix}..%5cab-victim%5cx.txt`],
    ["a NUL", `${prefix}x.txt\u0000../../ab-victim`],
    ["an encoded NUL", `${prefix}x.txt%00.jpg`],
  ];

  it.each(escapes)("400 for %s on every route that takes a key", async (_name, key) => {
    const routes: [string, Record<string, unknown>][] = [
      ["/v1/uploads", { key, size: 1, contentType: "text/plain" }],
      ["/v1/objects/confirm", { key }],
      ["/v1/objects/append", { key, position: 0, size: 1 }],
      ["/v1/objects/download", { key }],
      ["/v1/forms", { key, contentType: "text/plain" }],
      ["/v1/forms", { keyPrefix: `${key}/`, contentType: "text/plain" }],
      ["/v1/authorize", { method: "PUT", key, headers: { "content-length": 1, "content-type": "text/plain" } }],
      ["/v1/authorize", { method: "GET", pathname: `/${key}` }],
    ];
    for (const [path, body] of routes) {
      const res = await api("POST", path, { as, body });
      expectError(res, 400, "InvalidInput", "keyPrefix" in body ? "body.keyPrefix" : "body.key");
    }
  });

  it("a file name spelled to decode into .. or a separator stays one segment under the prefix", async () => {
    for (const filename of ["%2e%2e", "..%2f..%2fab-victim", "\uff0e\uff0e", "\u2025", "a%5cb", "%252e%252e"]) {
      const res = await api("POST", "/v1/uploads", { as, body: { filename, size: 1, contentType: "text/plain" } });
      expect(res.status, `${filename}: ${res.text}`).toBe(200);
      expect(res.body.key).toMatch(new RegExp(`^${prefix}[0-9a-f-]{36}/[^/\\\\%]+$`));
    }
  });

  it("a harmless % in a key is still accepted and lands under exactly that name", async () => {
    const key = `${prefix}50%off 100%25.txt`;
    const res = await api("POST", "/v1/uploads", { as, body: { key, size: 2, contentType: "text/plain" } });
    expect(res.status, res.text).toBe(200);
    const put = await fetch(res.body.url, { method: "PUT", headers: res.body.headers, body: "ok" });
    remember(await put.text());
    expect(put.status).toBe(200);
    expect((await cos.headObject(key)).size).toBe(2);
  });
});

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

describe("copying through /v1/authorize", () => {
  it("403 for PUT Object - Copy and Upload Part - Copy: x-cos-copy-source would read another caller's object into mine", async () => {
    const as = "ab-copier";
    const source = "/workerd-1250000000/users/ab-victim/secret.pdf";
    const sign = (query: Record<string, string>, headers: Record<string, string | number>) =>
      api("POST", "/v1/authorize", { as, body: { method: "PUT", key: `users/${as}/stolen.pdf`, query, headers: { "content-length": 0, "content-type": "application/pdf", ...headers } } });
    expectError(await sign({}, { "x-cos-copy-source": source }), 403, "OperationNotAllowed", "body.headers.x-cos-copy-source");
    expectError(await sign({}, { "X-Cos-Copy-Source": source, "x-cos-metadata-directive": "Copy" }), 403, "OperationNotAllowed", "body.headers.x-cos-copy-source");
    expectError(await sign({ partNumber: "1", uploadId: "u" }, { "x-cos-copy-source": source, "x-cos-copy-source-range": "bytes=0-9" }), 403, "OperationNotAllowed", "x-cos-copy-source");
    // The same PUT without the copy header is an ordinary upload, and is signed.
    expect((await sign({}, {})).status).toBe(200);
  });
});
