// GET /v1/openapi.json is the single truth of the API (issue 3): a valid OpenAPI 3.1 document,
// checked against the official schema, that covers every route the app serves.
import { Validator } from "@seriousme/openapi-schema-validator";
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
});
