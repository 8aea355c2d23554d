// cos-local verifies the COS request signature exactly (issue 2 §3 "Auth", cos-protocol.md §1),
// judged by cos-nodejs-sdk-v5: what the SDK signs is accepted, header form and query form, with
// permanent and STS credentials; a wrong secret, an expired window or a request changed after
// signing is refused. Raw requests signed by functions/cos/sign.ts cover path style.

import { randomBytes } from "node:crypto";
import type COS from "cos-nodejs-sdk-v5";
import { describe, expect, it, vi } from "vitest";
import { authorization, keyTime } from "../../functions/cos/sign";
import {
  BUCKET,
  HOST,
  loc,
  pathAndQuery,
  presignedUrl,
  rawRequest,
  rejection,
  type SdkHarness,
  SECRET_ID,
  SECRET_KEY,
  sha256,
  useHarness,
} from "./sdk-harness";

// Temporary (STS) credentials cos-local also accepts; the token has the characters SDKs send raw.
const TMP_SECRET_ID = "AKIDtmpSdkOracle000000000000000000";
const TMP_SECRET_KEY = "tmpSdkOracleSecretKey00000000000";
const TOKEN = "sts-token+with/reserved=chars";

let h: SdkHarness;
let cos: COS;

useHarness((started) => {
  h = started;
  cos = started.cos();
}, { credentials: [{ secretId: TMP_SECRET_ID, secretKey: TMP_SECRET_KEY, securityToken: TOKEN }] });

/** The request options the SDK emits in "before-send", after signing and before sending. */
interface SentRequest {
  headers: Record<string, string>;
  qs?: Record<string, string>;
}

/** A client that signs with STS credentials handed out by a getAuthorization callback, as a browser app does. */
function stsClient(token = TOKEN): COS {
  const now = Math.floor(Date.now() / 1000);
  return h.cos({
    SecretId: "",
    SecretKey: "",
    getAuthorization: (_options, callback) =>
      callback({
        TmpSecretId: TMP_SECRET_ID,
        TmpSecretKey: TMP_SECRET_KEY,
        SecurityToken: token,
        StartTime: now - 10,
        ExpiredTime: now + 3600,
      }),
  });
}

describe("signature", () => {
  it("a wrong SecretKey gets 403 SignatureDoesNotMatch with the server's StringToSign and FormatString", async () => {
    const Key = "auth/wrong-secret.bin";
    const err = await rejection(h.cos({ SecretKey: "not-the-secret" }).putObject({ ...loc, Key, Body: "x" }));
    expect(err.statusCode).toBe(403);
    expect(err.code).toBe("SignatureDoesNotMatch");
    expect(err.error?.StringToSign).toMatch(/^sha1\n\d+;\d+\n[0-9a-f]{40}\n$/);
    expect(err.error?.FormatString).toContain(`put\n/${Key}\n\n`);
    expect(err.error?.FormatString).toContain(`host=${HOST}`);
    expect(err.error?.RequestId).toBe(err.headers?.["x-cos-request-id"]);
    // Nothing was stored.
    expect((await rejection(cos.headObject({ ...loc, Key }))).statusCode).toBe(404);
  });

  it("a HEAD with a wrong SecretKey gets a bare 403", async () => {
    await cos.putObject({ ...loc, Key: "auth/head.bin", Body: "x" });
    const err = await rejection(h.cos({ SecretKey: "not-the-secret" }).headObject({ ...loc, Key: "auth/head.bin" }));
    expect(err.statusCode).toBe(403);
  });

  it("an unknown SecretId gets 403", async () => {
    const err = await rejection(h.cos({ SecretId: "AKIDunknown" }).putObject({ ...loc, Key: "auth/ak.bin", Body: "x" }));
    expect(err.statusCode).toBe(403);
  });

  it("an expired q-sign-time window gets 403 AccessDenied 'Request has expired'", async () => {
    const late = h.cos({ SystemClockOffset: -3600_000, CorrectClockSkew: false });
    const err = await rejection(late.putObject({ ...loc, Key: "auth/expired.bin", Body: "x" }));
    expect(err.statusCode).toBe(403);
    expect(err.code).toBe("AccessDenied");
    expect(err.error?.Message).toBe("Request has expired");
  });

  it("the same expired request succeeds once the SDK corrects its clock from the 403's Date header", async () => {
    const skewWarning = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const late = h.cos({ SystemClockOffset: -3600_000 });
      let attempts = 0;
      late.on("before-send", () => attempts++);
      const put = await late.putObject({ ...loc, Key: "auth/clock-corrected.bin", Body: "x" });
      expect(put.statusCode).toBe(200);
      // The first attempt was refused as expired; the retry carried the corrected window.
      expect(attempts).toBe(2);
      expect(skewWarning).toHaveBeenCalledWith("error: Local time is too skewed.");
    } finally {
      skewWarning.mockRestore();
    }
  });

  it("an expired presigned URL gets 403", async () => {
    await cos.putObject({ ...loc, Key: "auth/presigned.bin", Body: "x" });
    const url = await presignedUrl(h.cos({ SystemClockOffset: -3600_000 }), { Key: "auth/presigned.bin" });
    const res = await rawRequest(h.port, { method: "GET", path: pathAndQuery(url), headers: { Host: HOST } });
    expect(res.status).toBe(403);
  });

  it("a signed header changed after signing gets 403, an added unsigned header does not", async () => {
    const tampered = h.cos();
    tampered.on("before-send", (opt: SentRequest) => {
      opt.headers["x-cos-meta-note"] = "tampered";
    });
    const err = await rejection(
      tampered.putObject({ ...loc, Key: "auth/tampered-header.bin", Body: "x", Headers: { "x-cos-meta-note": "signed" } }),
    );
    expect(err.statusCode).toBe(403);
    expect(err.code).toBe("SignatureDoesNotMatch");

    const extra = h.cos();
    extra.on("before-send", (opt: SentRequest) => {
      opt.headers["X-Unsigned-Note"] = "ignored";
    });
    const put = await extra.putObject({ ...loc, Key: "auth/unsigned-header.bin", Body: "x", Headers: { "x-cos-meta-note": "signed" } });
    expect(put.statusCode).toBe(200);
  });

  it("a signed query parameter changed after signing gets 403", async () => {
    await cos.putObject({ ...loc, Key: "auth/tampered-query.bin", Body: "x" });
    const tampered = h.cos();
    tampered.on("before-send", (opt: SentRequest) => {
      if (opt.qs) opt.qs["response-content-type"] = "text/html";
    });
    const err = await rejection(
      tampered.getObject({ ...loc, Key: "auth/tampered-query.bin", ResponseContentType: "text/plain" }),
    );
    expect(err.statusCode).toBe(403);
    expect(err.code).toBe("SignatureDoesNotMatch");
  });

  it("a presigned URL with a changed signed parameter or another key gets 403", async () => {
    const body = randomBytes(100);
    await cos.putObject({ ...loc, Key: "auth/url-a.bin", Body: body });
    await cos.putObject({ ...loc, Key: "auth/url-b.bin", Body: body });
    const url = await presignedUrl(cos, { Key: "auth/url-a.bin", Query: { "response-content-type": "text/plain" } });
    const get = (path: string) => rawRequest(h.port, { method: "GET", path, headers: { Host: HOST } });

    expect((await get(pathAndQuery(url))).status).toBe(200);
    expect((await get(pathAndQuery(url).replace("text%2Fplain", "text%2Fhtml"))).status).toBe(403);
    expect((await get(pathAndQuery(url).replace("url-a.bin", "url-b.bin"))).status).toBe(403);
  });

  it("path-style requests signed by functions/cos/sign.ts: '/<bucket>/<key>' is signed, a changed query gets 403", async () => {
    const Key = "auth/path-style.bin";
    const body = randomBytes(1000);
    await cos.putObject({ ...loc, Key, Body: body });
    const host = `127.0.0.1:${h.port}`;
    const query = { "response-content-type": "application/x-signed" };
    const auth = await authorization({
      secretId: SECRET_ID,
      secretKey: SECRET_KEY,
      method: "GET",
      pathname: `/${BUCKET}/${Key}`,
      query,
      headers: { host },
      keyTime: keyTime(Date.now()),
    });
    const send = (contentType: string) =>
      rawRequest(h.port, {
        method: "GET",
        path: `/${BUCKET}/${Key}?response-content-type=${encodeURIComponent(contentType)}`,
        headers: { Host: host, Authorization: auth },
      });

    const ok = await send("application/x-signed");
    expect(ok.status).toBe(200);
    expect(ok.headers["content-type"]).toBe("application/x-signed");
    expect(sha256(ok.body)).toBe(sha256(body));
    const tampered = await send("application/x-tampered");
    expect(tampered.status).toBe(403);
    expect(tampered.body.toString()).toContain("<Code>SignatureDoesNotMatch</Code>");
  });
});

describe("STS credentials (x-cos-security-token)", () => {
  it("accepts requests signed with temporary keys and carrying their token, header and query form", async () => {
    const Key = "auth/sts.bin";
    const body = randomBytes(5000);
    const sts = stsClient();
    await sts.putObject({ ...loc, Key, Body: body });
    const got = await sts.getObject({ ...loc, Key });
    expect(sha256(got.Body as Buffer)).toBe(sha256(body));

    // getObjectUrl appends the token raw (`+`, `/`, `=` unencoded, §1.4).
    const url = await presignedUrl(sts, { Key });
    expect(url).toContain(`x-cos-security-token=${TOKEN}`);
    const res = await rawRequest(h.port, { method: "GET", path: pathAndQuery(url), headers: { Host: HOST } });
    expect(res.status).toBe(200);
    expect(sha256(res.body)).toBe(sha256(body));
  });

  it("refuses temporary keys with a wrong token or none", async () => {
    const wrong = await rejection(stsClient("not-the-token").putObject({ ...loc, Key: "auth/sts-wrong.bin", Body: "x" }));
    expect(wrong.statusCode).toBe(403);
    const none = h.cos({ SecretId: TMP_SECRET_ID, SecretKey: TMP_SECRET_KEY });
    const missing = await rejection(none.putObject({ ...loc, Key: "auth/sts-missing.bin", Body: "x" }));
    expect(missing.statusCode).toBe(403);
  });
});
