// GET /v1/diagnostics: the bucket's CORS rules judged for a page's origin before any upload fails on
// them, against cos-local's rules as set with PUT /?cors (in a bucket of its own, so other files'
// uploads are not affected), and CORS_ORIGINS.
import { afterAll, describe, expect, it } from "vitest";
import { createApp } from "../../functions/app";
import { presignUrl } from "../../functions/cos/presign";
import { buildXml } from "../../functions/cos/xml";
import { credentials, expectError, expectNoSecretsSeen, injectFault, jwtFor, record, target, testEnv } from "./api-helpers";

const BUCKET = "diagnostics-1250000000";
const vars = { ...testEnv, COS_BUCKET: BUCKET, CORS_ORIGINS: "http://app.example" };
const app = createApp();

async function diagnose(query: string, headers: Record<string, string> = {}, env: Record<string, unknown> = vars) {
  return record(await app.request(`/v1/diagnostics${query}`, { headers: { authorization: `Bearer ${await jwtFor("diag")}`, ...headers } }, env));
}

interface Rule {
  AllowedOrigin: string[];
  AllowedMethod: string[];
  AllowedHeader?: string[];
  ExposeHeader?: string[];
  ID?: string;
}

/** Sets the bucket's CORS rules on cos-local (PUT /?cors, presigned as the functions sign). */
async function putCors(rules: Rule[]): Promise<void> {
  const xml = buildXml({ CORSConfiguration: { CORSRule: rules.map((r) => ({ ...(r.ID ? { ID: r.ID } : {}), AllowedOrigin: r.AllowedOrigin, AllowedMethod: r.AllowedMethod, AllowedHeader: r.AllowedHeader ?? [], ExposeHeader: r.ExposeHeader ?? [] })) } });
  const { url } = await presignUrl({ credentials, target: { ...target, bucket: BUCKET }, method: "PUT", key: "", query: { cors: "" }, now: Date.now(), expires: 600 });
  const res = await fetch(url, { method: "PUT", body: xml });
  expect(res.status, await res.text()).toBe(200);
}

const FULL = ["ETag", "Date", "x-cos-request-id", "x-cos-hash-crc64ecma", "x-cos-next-append-position"];
const codes = (res: { body: { problems: { code: string }[] } }) => res.body.problems.map((p) => p.code);

afterAll(() => expectNoSecretsSeen());

describe("GET /v1/diagnostics", () => {
  it("cos-local's default rule for an origin in CORS_ORIGINS: ok, no problems, the server's clock", async () => {
    const res = await diagnose("?origin=http%3A%2F%2Fapp.example");
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ origin: "http://app.example", bucketCors: "ok", problems: [] });
    expect(Math.abs(Date.parse(res.body.serverTime) - Date.now())).toBeLessThan(60_000);
  });

  it("takes the origin from the Origin header when the query has none", async () => {
    const res = await diagnose("", { origin: "http://app.example" });
    expect(res.body).toMatchObject({ origin: "http://app.example", problems: [] });
  });

  it("a first rule that hides ETag and the CRC-64 header is an error naming the rule, even when a later rule exposes them", async () => {
    await putCors([
      { ID: "legacy", AllowedOrigin: ["http://*.example"], AllowedMethod: ["GET", "PUT"], AllowedHeader: ["*"], ExposeHeader: ["Date", "x-cos-request-id"] },
      { AllowedOrigin: ["*"], AllowedMethod: ["PUT", "POST"], AllowedHeader: ["*"], ExposeHeader: FULL },
    ]);
    const res = await diagnose("?origin=http://app.example");
    expect(res.body.bucketCors).toBe("problems");
    // Appends (POST) take rule 2, which exposes the position: nothing to say about them.
    expect(codes(res)).toEqual(["EtagNotExposed", "Crc64NotExposed"]);
    const etag = res.body.problems[0];
    expect(etag.severity).toBe("error");
    expect(etag.message).toContain('rule 1 ("legacy")');
    expect(etag.message).toContain("add ETag to its ExposeHeader");
    expect(etag.message).toContain("only the first match");
  });

  it("what the rules are judged on is what cos-local's preflight and answers do", async () => {
    // The preflight for content-type skips rule 1 (no headers allowed) but the PUT's answer takes rule 1's exposed headers.
    await putCors([
      { AllowedOrigin: ["http://app.example"], AllowedMethod: ["PUT"], ExposeHeader: ["Date"] },
      { AllowedOrigin: ["http://app.example"], AllowedMethod: ["PUT", "POST"], AllowedHeader: ["content-type"], ExposeHeader: FULL },
    ]);
    const res = await diagnose("?origin=http://app.example");
    // Errors first, then warnings.
    expect(codes(res)).toEqual(["EtagNotExposed", "Crc64NotExposed", "HeaderNotAllowed", "RequestIdNotExposed"]);
    expect(res.body.problems.map((p: { severity: string }) => p.severity)).toEqual(["error", "error", "warning", "warning"]);
    expect(res.body.problems[2].message).toContain("content-md5");
    expect(res.body.problems[2].message).not.toContain("content-type,");
    const preflight = await fetch(`${testEnv.COS_ENDPOINT}/${BUCKET}/users/diag/x`, { method: "OPTIONS", headers: { origin: "http://app.example", "access-control-request-method": "PUT", "access-control-request-headers": "content-md5" } });
    expect(preflight.status).toBe(403);
  });

  it("an origin no rule allows, and one missing from CORS_ORIGINS, are errors", async () => {
    await putCors([{ AllowedOrigin: ["https://other.example"], AllowedMethod: ["PUT"], AllowedHeader: ["*"], ExposeHeader: FULL }]);
    const res = await diagnose("?origin=https://evil.example");
    expect(codes(res)).toEqual(["ApiOriginNotAllowed", "OriginNotAllowed"]);
    expect(res.body.problems.every((p: { severity: string }) => p.severity === "error")).toBe(true);
    expect(res.body.problems[0].message).toContain("CORS_ORIGINS");
    expect(res.body.problems[1].message).toContain("https://evil.example");
    // CORS_ORIGINS=* lets any page call the API.
    expect(codes(await diagnose("?origin=https://evil.example", {}, { ...vars, CORS_ORIGINS: "*" }))).toEqual(["OriginNotAllowed"]);
  });

  it("a COS key that may not read the rules: unreadable, with a warning that says what to allow", async () => {
    await injectFault({ kind: "denied", operation: "GetBucketCors" });
    const res = await diagnose("?origin=http://app.example");
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ bucketCors: "unreadable", problems: [{ severity: "warning", code: "CorsUnreadable" }] });
    expect(res.body.problems[0].message).toContain("GetBucketCORS");
  });

  it("other COS failures are a 502, not an answer that says all is well", async () => {
    await injectFault({ kind: "500", operation: "GetBucketCors" });
    const res = await diagnose("?origin=http://app.example");
    expectError(res, 502, "CosError");
    expect(res.body.error.details).toMatchObject({ cosCode: "InternalError", cosStatus: 500 });
  });

  it("no origin, a bad origin, no JWT: 400 naming query.origin, or 401", async () => {
    expectError(await diagnose(""), 400, "InvalidInput", "query.origin");
    expectError(await diagnose("", { origin: "null" }), 400, "InvalidInput", "query.origin");
    // Not as a browser writes an origin: CORS_ORIGINS and the rules compare exactly, so these would get wrong answers.
    for (const bad of ["app.example", "http://app.example/path", "http://app.example?x", "http://a b", "x".repeat(300), "HTTPS://APP.EXAMPLE", "http://app.example:80", "http://user:pw@app.example", "http://*", "https://*.example", "ftp://app.example", "http://app.example\\x"]) {
      expectError(await diagnose(`?origin=${encodeURIComponent(bad)}`), 400, "InvalidInput", "query.origin");
    }
    // The Origin header, used when the query has none, is held to the same form.
    for (const bad of ["not an origin", "http://app.example/path", "HTTP://APP.EXAMPLE", `http://${"a".repeat(300)}.example`]) {
      expectError(await diagnose("", { origin: bad }), 400, "InvalidInput", "header.origin");
    }
    expect((await diagnose("?origin=http://app.example:8080")).status).toBe(200);
    expectError(await record(await app.request("/v1/diagnostics?origin=http://app.example", {}, vars)), 401, "Unauthenticated");
  });
});
