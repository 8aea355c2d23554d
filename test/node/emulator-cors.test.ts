// cos-local CORS (cos-protocol.md §5): the dev default, PUT/GET/DELETE /?cors, first match wins,
// preflight 200/403, and the headers on actual responses.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { list, text } from "../../functions/cos/xml";
import { BUCKET, raw, send, startLocal, xml, type Local } from "./emulator-harness";

let local: Local;
beforeAll(async () => {
  local = await startLocal();
  await send(local, { method: "PUT", key: "c.txt", body: "x" });
});
afterAll(async () => {
  await local.close();
});

const preflight = (l: Local, origin: string, method: string, headers = "") =>
  raw(l, {
    method: "OPTIONS",
    path: `/${BUCKET}/c.txt`,
    headers: { origin, "access-control-request-method": method, ...(headers ? { "access-control-request-headers": headers } : {}) },
  });

const rules = (...xmlRules: string[]) => `<CORSConfiguration>${xmlRules.join("")}</CORSConfiguration>`;

describe("dev default rule", () => {
  it("allows any origin and exposes the upload headers", async () => {
    const reply = await preflight(local, "http://app.test", "PUT", "authorization,content-type,x-cos-meta-a");
    expect(reply.status).toBe(200);
    expect(reply.headers["access-control-allow-origin"]).toBe("*");
    expect(reply.headers["access-control-allow-methods"]).toContain("PUT");
    expect(reply.headers["access-control-allow-headers"]).toBe("authorization,content-type,x-cos-meta-a");
    const get = await send(local, { method: "GET", key: "c.txt", headers: { origin: "http://app.test" } });
    const exposed = String(get.headers["access-control-expose-headers"]).split(",");
    for (const h of ["ETag", "Content-Length", "Date", "x-cos-request-id", "x-cos-hash-crc64ecma", "x-cos-next-append-position"]) expect(exposed).toContain(h);
  });

  it("a preflight without Access-Control-Request-Method is refused", async () => {
    expect((await raw(local, { method: "OPTIONS", path: `/${BUCKET}/c.txt`, headers: { origin: "http://app.test" } })).status).toBe(403);
  });
});

describe("bucket rules", () => {
  it("PUT /?cors refuses values no response header could carry (and the bucket keeps answering browsers)", async () => {
    for (const rule of ["<ExposeHeader>ETag中</ExposeHeader>", "<AllowedHeader>bad header</AllowedHeader>", "<MaxAgeSeconds>-1</MaxAgeSeconds>"]) {
      const body = rules(`<CORSRule><AllowedOrigin>http://app.test</AllowedOrigin><AllowedMethod>PUT</AllowedMethod>${rule}</CORSRule>`);
      const reply = await send(local, { method: "PUT", query: { cors: "" }, body, headers: { "content-type": "application/xml" } });
      expect(reply.status, rule).toBe(400);
    }
    expect((await send(local, { method: "GET", key: "c.txt", headers: { origin: "http://app.test" } })).status).not.toBe(500);
  });

  it("PUT /?cors stores rules, GET returns them, DELETE falls back to the configured default", async () => {
    const body = rules(
      "<CORSRule><AllowedOrigin>http://*.example.com</AllowedOrigin><AllowedMethod>PUT</AllowedMethod><AllowedHeader>x-cos-*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>60</MaxAgeSeconds></CORSRule>",
    );
    expect((await send(local, { method: "PUT", query: { cors: "" }, body, headers: { "content-type": "application/xml" } })).status).toBe(200);
    const got = xml(await send(local, { method: "GET", query: { cors: "" } }));
    expect(list(got.body, "CORSRule").map((r) => text(r, "MaxAgeSeconds"))).toEqual(["60"]);

    const ok = await preflight(local, "http://a.example.com", "PUT", "x-cos-meta-a");
    expect(ok.status).toBe(200);
    expect(ok.headers["access-control-allow-origin"]).toBe("http://a.example.com");
    expect(ok.headers["access-control-max-age"]).toBe("60");
    expect((await preflight(local, "http://evil.test", "PUT")).status).toBe(403);
    expect((await preflight(local, "http://a.example.com", "DELETE")).status).toBe(403);
    expect((await preflight(local, "http://a.example.com", "PUT", "authorization")).status).toBe(403);
    // No rule matches → actual responses carry no CORS headers.
    const get = await send(local, { method: "GET", key: "c.txt", headers: { origin: "http://evil.test" } });
    expect(get.headers["access-control-allow-origin"]).toBeUndefined();

    expect((await send(local, { method: "DELETE", query: { cors: "" } })).status).toBe(204);
    expect((await preflight(local, "http://evil.test", "PUT")).status).toBe(200);
  });

  it("first matching rule wins: a first rule without ExposeHeader hides ETag", async () => {
    const body = rules(
      "<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod><AllowedHeader>*</AllowedHeader></CORSRule>",
      "<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod><AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader></CORSRule>",
    );
    await send(local, { method: "PUT", query: { cors: "" }, body });
    try {
      const get = await send(local, { method: "GET", key: "c.txt", headers: { origin: "http://app.test" } });
      expect(get.headers["access-control-allow-origin"]).toBe("*");
      expect(get.headers["access-control-expose-headers"]).toBeUndefined();
      const pre = await preflight(local, "http://app.test", "PUT");
      expect(pre.headers["access-control-expose-headers"]).toBeUndefined();
    } finally {
      await send(local, { method: "DELETE", query: { cors: "" } });
    }
  });

  it("rejects a CORS body that is not a CORSConfiguration", async () => {
    const reply = await send(local, { method: "PUT", query: { cors: "" }, body: "<Nope/>" });
    expect([reply.status, text(xml(reply).body, "Code")]).toEqual([400, "MalformedXML"]);
  });

  it("cors: false means no rules: preflights get 403", async () => {
    const strict = await startLocal({ cors: false });
    try {
      expect((await preflight(strict, "http://app.test", "GET")).status).toBe(403);
      const get = await send(strict, { method: "GET", query: { cors: "" } });
      expect([get.status, text(xml(get).body, "Code")]).toEqual([404, "NoSuchCORSConfiguration"]);
    } finally {
      await strict.close();
    }
  });
});
