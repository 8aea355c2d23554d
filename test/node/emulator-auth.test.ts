// cos-local's signature verification (cos-protocol.md §1.2, §1.4, §8): header, query and merged
// forms; the window; tampering; STS tokens; anonymous requests; virtual-host addressing.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authorization, httpString, keyTime } from "../../functions/cos/sign";
import { text } from "../../functions/cos/xml";
import { BUCKET, raw, SECRET_ID, SECRET_KEY, send, startLocal, xml, type Local } from "./emulator-harness";

let local: Local;
beforeAll(async () => {
  local = await startLocal();
  await send(local, { method: "PUT", key: "auth/obj.txt", body: "secret bytes" });
});
afterAll(async () => {
  await local.close();
});

const code = (reply: { text: string }) => text(xml({ text: reply.text } as never).body, "Code");
const nowSeconds = () => Math.floor(Date.now() / 1000);

describe("header form", () => {
  it("accepts a correct signature", async () => {
    expect((await send(local, { method: "GET", key: "auth/obj.txt" })).text).toBe("secret bytes");
  });

  it("wrong secret → 403 SignatureDoesNotMatch with the server's StringToSign and FormatString", async () => {
    const reply = await send(local, { method: "GET", key: "auth/obj.txt", query: { "response-cache-control": "no-cache" }, secretKey: "wrong" });
    expect(reply.status).toBe(403);
    const doc = xml(reply).body;
    expect(text(doc, "Code")).toBe("SignatureDoesNotMatch");
    const host = `127.0.0.1:${local.cos.port}`;
    const format = httpString("get", `/${BUCKET}/auth/obj.txt`, { "response-cache-control": "no-cache" }, { host });
    // Read from the raw body: the XML parser trims the trailing newline both strings end with.
    expect(reply.text).toContain(`<FormatString>${format}</FormatString>`);
    expect(reply.text).toMatch(/<StringToSign>sha1\n\d+;\d+\n[0-9a-f]{40}\n<\/StringToSign>/);
    expect(reply.text).not.toContain(SECRET_KEY);
  });

  it("expired window → 403 AccessDenied 'Request has expired'", async () => {
    const reply = await send(local, { method: "GET", key: "auth/obj.txt", keyTime: `${nowSeconds() - 7200};${nowSeconds() - 3600}` });
    expect(reply.status).toBe(403);
    expect(code(reply)).toBe("AccessDenied");
    expect(text(xml(reply).body, "Message")).toBe("Request has expired");
  });

  it("a window starting far in the future → 403 RequestTimeTooSkewed", async () => {
    const reply = await send(local, { method: "GET", key: "auth/obj.txt", keyTime: `${nowSeconds() + 3600};${nowSeconds() + 7200}` });
    expect([reply.status, code(reply)]).toEqual([403, "RequestTimeTooSkewed"]);
  });

  it("q-sign-time different from q-key-time → 403", async () => {
    const kt = keyTime(Date.now());
    const reply = await send(local, { method: "GET", key: "auth/obj.txt", tamper: ({ headers }) => void (headers.authorization = headers.authorization.replace(`q-sign-time=${kt}`, `q-sign-time=${Number(kt.split(";")[0]) + 1};${kt.split(";")[1]}`)), keyTime: kt });
    expect(reply.status).toBe(403);
  });

  it("tampered signed query parameter → 403", async () => {
    const reply = await send(local, { method: "GET", key: "auth/obj.txt", query: { "response-content-type": "text/plain" }, tamper: ({ query }) => void (query["response-content-type"] = "text/html") });
    expect([reply.status, code(reply)]).toEqual([403, "SignatureDoesNotMatch"]);
  });

  it("a signed parameter given twice in two spellings (partNumber and partnumber) → 400, so the signature and the handler cannot read different values", async () => {
    const reply = await send(local, { method: "GET", key: "auth/obj.txt", query: { "response-content-type": "text/plain" }, tamper: ({ query }) => void (query["Response-Content-Type"] = "text/html") });
    expect([reply.status, code(reply)]).toEqual([400, "InvalidArgument"]);
  });

  it("tampered signed header → 403; an unsigned header may change", async () => {
    const tampered = await send(local, { method: "PUT", key: "auth/t.txt", body: "x", headers: { "x-cos-meta-a": "1" }, tamper: ({ headers }) => void (headers["x-cos-meta-a"] = "2") });
    expect([tampered.status, code(tampered)]).toEqual([403, "SignatureDoesNotMatch"]);
    const unsigned = await send(local, { method: "PUT", key: "auth/t.txt", body: "x", headers: { "x-cos-meta-a": "1" }, signHeaders: ["content-length"] });
    expect(unsigned.status).toBe(200);
  });

  it("a signed parameter removed from the request → 403", async () => {
    const reply = await send(local, { method: "GET", key: "auth/obj.txt", query: { "response-content-type": "text/plain" }, tamper: ({ query }) => void delete query["response-content-type"] });
    expect(reply.status).toBe(403);
  });

  it("unknown SecretId → 403 InvalidAccessKeyId", async () => {
    const reply = await send(local, { method: "GET", key: "auth/obj.txt", secretId: "AKIDnobody" });
    expect([reply.status, code(reply)]).toEqual([403, "InvalidAccessKeyId"]);
  });

  it("anonymous → 403 AccessDenied", async () => {
    const reply = await send(local, { method: "GET", key: "auth/obj.txt", auth: "none" });
    expect([reply.status, code(reply)]).toEqual([403, "AccessDenied"]);
  });
});

describe("query form (presigned URLs)", () => {
  for (const [label, map] of [
    ["literal ;", (q: string) => q],
    ["%3B", (q: string) => q.replace(/;/g, "%3B")],
    ["%3b", (q: string) => q.replace(/;/g, "%3b")],
  ] as const) {
    it(`accepts q-* parameters with ${label}`, async () => {
      const reply = await send(local, { method: "GET", key: "auth/obj.txt", auth: "query", query: { "response-content-type": "text/plain" }, mapAuthQuery: map });
      expect(reply.status).toBe(200);
      expect(reply.headers["content-type"]).toBe("text/plain");
    });
  }

  it("accepts the merged sign= form", async () => {
    const host = `127.0.0.1:${local.cos.port}`;
    const auth = await authorization({ secretId: SECRET_ID, secretKey: SECRET_KEY, method: "GET", pathname: `/${BUCKET}/auth/obj.txt`, headers: { host }, keyTime: keyTime(Date.now()) });
    const reply = await raw(local, { method: "GET", path: `/${BUCKET}/auth/obj.txt?sign=${encodeURIComponent(auth)}`, headers: { host } });
    expect(reply.text).toBe("secret bytes");
  });

  it("rejects a presigned URL with a tampered signed parameter", async () => {
    const reply = await send(local, { method: "GET", key: "auth/obj.txt", auth: "query", query: { "response-content-type": "text/plain" }, tamper: ({ query }) => void (query["response-content-type"] = "evil") });
    expect(reply.status).toBe(403);
  });
});

describe("OPTIONS, buckets, switches", () => {
  it("never authenticates OPTIONS preflights", async () => {
    const reply = await raw(local, { method: "OPTIONS", path: `/${BUCKET}/auth/obj.txt`, headers: { origin: "http://app.test", "access-control-request-method": "PUT" } });
    expect(reply.status).toBe(200);
  });

  it("unknown bucket → 404 NoSuchBucket", async () => {
    const reply = await raw(local, { method: "GET", path: "/nobucket-1250000000/x" });
    expect([reply.status, code(reply)]).toEqual([404, "NoSuchBucket"]);
  });

  it("virtual-host style signs /<key> with the Host header verbatim", async () => {
    const host = `${BUCKET}.cos.ap-guangzhou.cos-local.test`;
    const auth = await authorization({ secretId: SECRET_ID, secretKey: SECRET_KEY, method: "GET", pathname: "/auth/obj.txt", headers: { host }, keyTime: keyTime(Date.now()) });
    const reply = await raw(local, { method: "GET", path: "/auth/obj.txt", headers: { host, authorization: auth } });
    expect(reply.text).toBe("secret bytes");
    const pathStyleSigned = await authorization({ secretId: SECRET_ID, secretKey: SECRET_KEY, method: "GET", pathname: `/${BUCKET}/auth/obj.txt`, headers: { host }, keyTime: keyTime(Date.now()) });
    expect((await raw(local, { method: "GET", path: "/auth/obj.txt", headers: { host, authorization: pathStyleSigned } })).status).toBe(403);
  });

  it("verifySignatures: false accepts anonymous requests", async () => {
    const open = await startLocal({ verifySignatures: false });
    try {
      expect((await send(open, { method: "PUT", key: "a", body: "x", auth: "none" })).status).toBe(200);
    } finally {
      await open.close();
    }
  });
});

describe("STS security token", () => {
  let sts: Local;
  const token = "tokenEXAMPLE+/=";
  beforeAll(async () => {
    sts = await startLocal({ securityToken: token });
  });
  afterAll(async () => {
    await sts.close();
  });

  it("accepts the token as an unsigned header (JS/Node SDKs) or a signed one (Go SDK)", async () => {
    expect((await send(sts, { method: "PUT", key: "s", body: "x", headers: { "x-cos-security-token": token }, signHeaders: ["content-length"] })).status).toBe(200);
    expect((await send(sts, { method: "PUT", key: "s", body: "x", headers: { "x-cos-security-token": token } })).status).toBe(200);
  });

  it("accepts the token in the query, raw or encoded", async () => {
    const rawToken = await send(sts, { method: "GET", key: "s", auth: "query", mapAuthQuery: (q) => `${q}&x-cos-security-token=${token}` });
    expect(rawToken.status).toBe(200);
    const encoded = await send(sts, { method: "GET", key: "s", auth: "query", mapAuthQuery: (q) => `${q}&x-cos-security-token=${encodeURIComponent(token)}` });
    expect(encoded.status).toBe(200);
  });

  it("refuses a missing or wrong token", async () => {
    expect((await send(sts, { method: "GET", key: "s" })).status).toBe(403);
    expect((await send(sts, { method: "GET", key: "s", headers: { "x-cos-security-token": "other" }, signHeaders: [] })).status).toBe(403);
  });
});
