// functions/cos/cors.ts: CosClient.getBucketCors against cos-local (rules, none, the dev default),
// and corsProblems on the cases the workerd route test does not reach.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CosClient } from "../../functions/cos/client";
import { corsProblems, type CorsConfiguration } from "../../functions/cos/cors";
import { corsToXml, DEV_CORS } from "../../emulator/cors";
import { BUCKET, SECRET_ID, SECRET_KEY, send, startLocal, type Local } from "./emulator-harness";

const client = (local: Local) => new CosClient({ credentials: { secretId: SECRET_ID, secretKey: SECRET_KEY }, target: { bucket: BUCKET, region: "ap-guangzhou", endpoint: local.cos.url } });
const codes = (config: CorsConfiguration | null, origin = "https://app.example") => corsProblems(config, origin).map((p) => p.code);
const rule = (over: Partial<CorsConfiguration["rules"][number]> = {}) => ({ allowedOrigins: ["*"], allowedMethods: ["PUT", "POST"], allowedHeaders: ["*"], exposeHeaders: ["ETag", "Date", "x-cos-request-id", "x-cos-hash-crc64ecma", "x-cos-next-append-position"], ...over });

describe("CosClient.getBucketCors against cos-local", () => {
  let dev: Local;
  let none: Local;
  beforeAll(async () => {
    [dev, none] = await Promise.all([startLocal(), startLocal({ cors: false })]);
  });
  afterAll(async () => {
    await Promise.all([dev.close(), none.close()]);
  });

  it("reads the dev default rule as cos-local applies it, and finds nothing wrong with it", async () => {
    const rules = await client(dev).getBucketCors();
    expect(rules?.rules).toEqual(DEV_CORS.rules);
    expect(corsProblems(rules, "http://127.0.0.1:5173")).toEqual([]);
  });

  it("a bucket without rules is null (404 NoSuchCORSConfiguration), which is an error for every origin", async () => {
    expect(await client(none).getBucketCors()).toBeNull();
    expect(codes(null)).toEqual(["NoCorsRules"]);
    expect(codes({ rules: [] })).toEqual(["NoCorsRules"]);
  });

  it("reads back the rules PUT /?cors stored, in order, with ids", async () => {
    const config = { rules: [rule({ id: "first", allowedOrigins: ["https://*.example"], exposeHeaders: ["ETag"] }), rule({ allowedMethods: ["GET"] })] };
    expect((await send(none, { method: "PUT", key: "", query: { cors: "" }, body: corsToXml(config) })).status).toBe(200);
    const read = await client(none).getBucketCors();
    expect(read?.rules.map((r) => [r.id, r.allowedOrigins, r.allowedMethods, r.exposeHeaders])).toEqual([
      ["first", ["https://*.example"], ["PUT", "POST"], ["ETag"]],
      [undefined, ["*"], ["GET"], config.rules[1].exposeHeaders],
    ]);
  });
});

describe("corsProblems", () => {
  it("ExposeHeader * exposes everything; header names compare case-insensitively", () => {
    expect(codes({ rules: [rule({ exposeHeaders: ["*"] })] })).toEqual([]);
    expect(codes({ rules: [rule({ exposeHeaders: ["etag", "DATE", "X-Cos-Request-Id", "X-COS-HASH-CRC64ECMA", "x-cos-next-append-position"] })] })).toEqual([]);
  });

  it("origin patterns: one * anywhere, matched as COS does", () => {
    const config = { rules: [rule({ allowedOrigins: ["https://*.example.com"] })] };
    expect(codes(config, "https://app.example.com")).toEqual([]);
    expect(codes(config, "https://example.com")).toEqual(["OriginNotAllowed"]);
    expect(codes(config, "http://app.example.com")).toEqual(["OriginNotAllowed"]);
  });

  it("a rule allowing PUT without any request headers: content-type refused is an error", () => {
    const problems = corsProblems({ rules: [rule({ allowedHeaders: [] })] }, "https://app.example");
    expect(problems.map((p) => [p.severity, p.code])).toEqual([["error", "HeaderNotAllowed"], ["warning", "AppendNotAllowed"]]);
  });

  it("errors come before warnings, each kind in the order found", () => {
    const problems = corsProblems({ rules: [rule({ allowedMethods: ["PUT"], exposeHeaders: ["Date"] })] }, "https://app.example");
    // No rule allows POST, so the append header is not judged: appends are refused before that.
    expect(problems.map((p) => p.code)).toEqual(["EtagNotExposed", "Crc64NotExposed", "AppendNotAllowed", "RequestIdNotExposed"]);
  });

  it("the append position header is judged on the first rule allowing POST, as cos-local answers an APPEND", () => {
    const full = rule().exposeHeaders;
    // PUT rule exposes everything, the POST rule nothing: appends cannot read the position.
    const putOnly = corsProblems({ rules: [rule({ allowedMethods: ["PUT"] }), rule({ allowedMethods: ["POST"], exposeHeaders: [] })] }, "https://app.example");
    expect(putOnly.map((p) => p.code)).toEqual(["AppendPositionNotExposed"]);
    expect(putOnly[0].message).toContain("rule 2, the first that allows POST");
    // The PUT rule lacks it, the POST rule has it: nothing to fix.
    const split = { rules: [rule({ allowedMethods: ["PUT"], exposeHeaders: full.filter((h) => h !== "x-cos-next-append-position") }), rule({ allowedMethods: ["POST"] })] };
    expect(codes(split)).toEqual([]);
  });

  it("headers each allowed by some rule but not all by one: a preflight sending several is refused", () => {
    const config = { rules: [rule({ allowedHeaders: ["content-type", "content-md5"] }), rule({ allowedHeaders: ["content-type", "cache-control", "content-disposition", "content-encoding", "x-cos-meta-*", "x-cos-storage-class"] })] };
    const problems = corsProblems(config, "https://app.example");
    expect(problems.map((p) => [p.severity, p.code])).toEqual([["warning", "HeaderNotAllowed"]]);
    expect(problems[0].message).toContain("no one rule allows them all");
  });

  it("PUT allowed but not POST: appends are a warning only", () => {
    const problems = corsProblems({ rules: [rule({ allowedMethods: ["PUT"] })] }, "https://app.example");
    expect(problems.map((p) => [p.severity, p.code])).toEqual([["warning", "AppendNotAllowed"]]);
  });

  it("metadata headers refused are named as the family x-cos-meta-*", () => {
    const problems = corsProblems({ rules: [rule({ allowedHeaders: ["content-type", "content-md5", "cache-control", "content-disposition", "content-encoding", "x-cos-storage-class"] })] }, "https://app.example");
    expect(problems.map((p) => p.code)).toEqual(["HeaderNotAllowed"]);
    expect(problems[0].message).toContain("uploads that send x-cos-meta-* are refused");
  });

  it("allowed headers by pattern: x-cos-meta-* covers metadata", () => {
    const problems = corsProblems({ rules: [rule({ allowedHeaders: ["content-type", "x-cos-meta-*"] })] }, "https://app.example");
    expect(problems).toHaveLength(1);
    expect(problems[0].message).toContain("content-md5, cache-control, content-disposition, content-encoding, x-cos-storage-class");
    expect(problems[0].message).not.toContain("x-cos-meta");
  });
});
