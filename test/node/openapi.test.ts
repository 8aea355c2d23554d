// GET /v1/openapi.json is the single truth of the API (issue 3): a valid OpenAPI 3.1 document,
// checked against the official schema, that covers every route the app serves.
import { Validator } from "@seriousme/openapi-schema-validator";
import { sign } from "hono/jwt";
import { describe, expect, it } from "vitest";
import { createApp } from "../../functions/app";
import { CONFIG_DEFAULTS } from "../../functions/config";

const app = createApp({
  ...CONFIG_DEFAULTS,
  cos: { credentials: { secretId: "AKIDopenapi", secretKey: "openapi-secret" }, target: { bucket: "doc-1250000000", region: "ap-guangzhou" } },
  uploadTokenSecret: "openapi-test-upload-token-secret-0123456789",
  auth: { mode: "jwt", secret: "openapi-test-jwt-secret-0123456789abcdef" },
});

describe("GET /v1/openapi.json", () => {
  it("is a valid OpenAPI 3.1 document, served without credentials", async () => {
    const res = await app.request("/v1/openapi.json");
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string };
    expect(doc.openapi).toBe("3.1.0");
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it("documents every route the app answers, with its error responses", async () => {
    const doc = (await (await app.request("/v1/openapi.json")).json()) as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    const served = app.routes
      .filter((r) => r.method !== "ALL" && r.path !== "/v1/openapi.json")
      .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, "{$1}")}`);
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method} ${path}`));
    expect(served.length).toBeGreaterThan(8);
    expect([...new Set(served)].sort()).toEqual(documented.sort());
    for (const [path, ops] of Object.entries(doc.paths)) {
      if (path === "/healthz") continue;
      for (const [method, op] of Object.entries(ops)) expect([method, path, Object.keys(op.responses).some((s) => s.startsWith("4"))]).toEqual([method, path, true]);
    }
  });

  it("lists the statuses the routes really answer to bad requests, and Upload-Token as required", async () => {
    type Op = { responses: Record<string, { headers?: Record<string, unknown> }>; parameters?: { name: string; in: string; required?: boolean }[] };
    const doc = (await (await app.request("/v1/openapi.json")).json()) as { paths: Record<string, Record<string, Op>> };
    const bearer = `Bearer ${await sign({ sub: "doc", exp: Math.floor(Date.now() / 1000) + 600 }, "openapi-test-jwt-secret-0123456789abcdef", "HS256")}`;
    const json = { authorization: bearer, "content-type": "application/json" };
    const cases: [string, string, string, RequestInit][] = [
      ["get", "/v1/uploads/{uploadId}/parts", "/v1/uploads/%C3%A9/parts", { headers: { authorization: bearer, "upload-token": "x" } }],
      ["delete", "/v1/uploads/{uploadId}", "/v1/uploads/x", { method: "DELETE", headers: { authorization: bearer, "upload-token": "t".repeat(5000) } }],
      ["get", "/v1/uploads/{uploadId}/parts", "/v1/uploads/x/parts", { headers: { authorization: bearer } }],
      ["post", "/v1/uploads/{uploadId}/parts", "/v1/uploads/x/parts", { method: "POST", headers: { authorization: bearer, "content-type": "text/plain" }, body: "{}" }],
      ["post", "/v1/uploads/{uploadId}/complete", "/v1/uploads/x/complete", { method: "POST", headers: json, body: JSON.stringify({ parts: [], pad: "x".repeat(2 * 1024 * 1024) }) }],
      ["post", "/v1/objects/confirm", "/v1/objects/confirm", { method: "POST", headers: { authorization: bearer, "content-type": "text/plain" }, body: "{}" }],
      ["post", "/v1/objects/download", "/v1/objects/download", { method: "POST", headers: json, body: JSON.stringify({ key: "x", pad: "x".repeat(2 * 1024 * 1024) }) }],
      ["get", "/v1/diagnostics", "/v1/diagnostics?origin=nope", { headers: { authorization: bearer } }],
      ["get", "/v1/diagnostics", "/v1/diagnostics", { headers: { authorization: bearer } }],
      ["get", "/v1/diagnostics", "/v1/diagnostics?origin=https://a.example", {}],
    ];
    for (const [method, path, url, init] of cases) {
      const res = await app.request(url, init);
      expect(res.status, `${method} ${url}`).toBeGreaterThanOrEqual(400);
      expect(Object.keys(doc.paths[path][method].responses), `${method} ${url} answered ${res.status}`).toContain(String(res.status));
    }
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        expect(Object.keys(op.responses), `${method} ${path}`).toContain("500");
        if (op.responses["429"]) expect(op.responses["429"].headers, `${method} ${path}`).toHaveProperty("Retry-After");
        const token = op.parameters?.find((p) => p.in === "header" && p.name === "upload-token");
        if (token) expect(token.required, `${method} ${path}`).toBe(true);
      }
    }
  });
});
