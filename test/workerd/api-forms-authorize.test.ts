// POST /v1/forms (HTML form uploads) and POST /v1/authorize (the signing backend for
// cos-js-sdk-v5's getAuthorization), each executed against cos-local (issue 3 "Tests").
import { afterAll, describe, expect, it } from "vitest";
import { createApp } from "../../functions/app";
import { api, bytes, cos, cosUrl, credentials, expectError, expectNoSecretsSeen, expectSameBytes, jwtFor, record, remember, requestInit, target, testEnv } from "./api-helpers";

afterAll(expectNoSecretsSeen);

/** Sends a form the way a browser does: every policy field, then the file last. */
async function postForm(fields: Record<string, string>, url: string, file: Blob, filename: string): Promise<Response> {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  form.append("file", file, filename);
  return fetch(url, { method: "POST", body: form });
}

describe("POST /v1/forms", () => {
  it("returns a policy cos-local accepts for an exact key; the object lands with the form's bytes", async () => {
    const key = "users/lc-form/exact/hello.txt";
    const res = await api("POST", "/v1/forms", { as: "lc-form", body: { key, contentType: "text/plain", maxBytes: 100 } });
    expect(res.status, res.text).toBe(200);
    expect(res.body.url).toBe(`${target.endpoint}/${target.bucket}/`);
    expect(res.body.fields).toMatchObject({ key, "Content-Type": "text/plain", "q-sign-algorithm": "sha1", "q-ak": credentials.secretId });
    const policy = JSON.parse(atob(res.body.fields.policy)) as { conditions: unknown[] };
    expect(policy.conditions).toContainEqual(["content-length-range", 0, 100]);

    const posted = await postForm(res.body.fields, res.body.url, new Blob(["form body"], { type: "text/plain" }), "ignored.txt");
    remember(await posted.text());
    expect(posted.status).toBe(204);
    const confirmed = await api("POST", "/v1/objects/confirm", { as: "lc-form", body: { key } });
    expect(confirmed.body).toMatchObject({ key, size: 9, contentType: "text/plain" });
  });

  it("lets a prefix form name the object after the file", async () => {
    const res = await api("POST", "/v1/forms", { as: "lc-form", body: { keyPrefix: "users/lc-form/inbox/", contentType: "application/pdf" } });
    expect(res.status, res.text).toBe(200);
    expect(res.body.fields.key).toBe("users/lc-form/inbox/${filename}");
    const posted = await postForm(res.body.fields, res.body.url, new Blob(["%PDF-1.7"], { type: "application/pdf" }), "report.pdf");
    expect(posted.status).toBe(204);
    expect((await cos.headObject("users/lc-form/inbox/report.pdf")).size).toBe(8);
  });

  it("a file over maxBytes is refused by cos-local, and nothing lands", async () => {
    const key = "users/lc-form/exact/too-big.txt";
    const res = await api("POST", "/v1/forms", { as: "lc-form", body: { key, contentType: "text/plain", maxBytes: 100 } });
    const posted = await postForm(res.body.fields, res.body.url, new Blob([bytes(101, 1)], { type: "text/plain" }), "big.txt");
    expect([posted.status, await posted.text()]).toEqual([400, expect.stringContaining("EntityTooLarge")]);
    expectError(await api("POST", "/v1/objects/confirm", { as: "lc-form", body: { key } }), 404, "ObjectNotFound");
  });

  it("signs a success_action_redirect back to the app (303 with bucket, key, etag); other origins are refused", async () => {
    const key = "users/lc-form/exact/redirected.txt";
    const redirect = "http://app.example/uploaded?form=1";
    const res = await api("POST", "/v1/forms", { as: "lc-form", body: { key, contentType: "text/plain", successActionRedirect: redirect } });
    expect(res.status, res.text).toBe(200);
    expect(res.body.fields.success_action_redirect).toBe(redirect);
    expect(JSON.parse(atob(res.body.fields.policy)).conditions).toContainEqual({ success_action_redirect: redirect });
    const form = new FormData();
    for (const [name, value] of Object.entries(res.body.fields as Record<string, string>)) form.append(name, value);
    form.append("file", new Blob(["redirected"], { type: "text/plain" }), "r.txt");
    const posted = await fetch(res.body.url, { method: "POST", body: form, redirect: "manual" });
    expect(posted.status).toBe(303);
    const location = new URL(posted.headers.get("location")!);
    expect(location.origin + location.pathname).toBe("http://app.example/uploaded");
    expect(Object.fromEntries(location.searchParams)).toMatchObject({ form: "1", key, etag: expect.stringMatching(/^"[0-9a-f]{32}"$/) });
    // The redirect is part of the signed policy: another target is refused by COS.
    const swapped = new FormData();
    for (const [name, value] of Object.entries(res.body.fields as Record<string, string>)) swapped.append(name, name === "success_action_redirect" ? "http://evil.example/" : value);
    swapped.append("file", new Blob(["x"], { type: "text/plain" }), "r.txt");
    const refused = await fetch(res.body.url, { method: "POST", body: swapped, redirect: "manual" });
    remember(await refused.text());
    expect(refused.status).toBe(403);
    for (const bad of ["http://evil.example/done", "javascript:alert(1)", "/relative"]) {
      expectError(await api("POST", "/v1/forms", { as: "lc-form", body: { key, contentType: "text/plain", successActionRedirect: bad } }), 400, "InvalidInput", "body.successActionRedirect");
    }
  });

  it("grants only a folder: a prefix must end with / and hold no dot segment in any spelling", async () => {
    const form = (keyPrefix: string) => api("POST", "/v1/forms", { as: "lc-form", body: { keyPrefix, contentType: "text/plain" } });
    // Without the /, the uploader's text would extend the prefix's last segment: `%2` + `e%2e` is `..` once decoded.
    for (const keyPrefix of ["users/lc-form/inbox", "users/lc-form/%2", "users/lc-form/a."]) expectError(await form(keyPrefix), 400, "InvalidInput", "body.keyPrefix: must end with /");
    for (const keyPrefix of ["users/lc-form/../other/", "users/lc-form/%2e%2e/", "users/lc-form/./", "users/lc-form//"]) expectError(await form(keyPrefix), 400, "InvalidInput", "body.keyPrefix");
    const folder = await form("users/lc-form/inbox/");
    expect(folder.status, folder.text).toBe(200);
    expect(JSON.parse(atob(folder.body.fields.policy)).conditions).toContainEqual(["starts-with", "$key", "users/lc-form/inbox/"]);
    // Without keyPrefix the form grants the caller's own folder.
    const own = await api("POST", "/v1/forms", { as: "lc-form", body: { contentType: "text/plain" } });
    expect(JSON.parse(atob(own.body.fields.policy)).conditions).toContainEqual(["starts-with", "$key", "users/lc-form/"]);
  });

  it("with a KEY_PREFIX that is not a folder, a prefix form must name one", async () => {
    const app = createApp();
    const vars = { ...testEnv, KEY_PREFIX: "users/{sub}/in-" };
    const form = async (body: Record<string, unknown>) => record(await app.request("/v1/forms", requestInit("POST", { body: { contentType: "text/plain", ...body } }, await jwtFor("lc-form")), vars));
    expectError(await form({}), 400, "InvalidInput", "body.keyPrefix: required");
    expect((await form({ keyPrefix: "users/lc-form/in-box/" })).status).toBe(200);
    expect((await form({ key: "users/lc-form/in-a.txt" })).status).toBe(200);
  });

  it("refuses keys and prefixes outside the caller's, and types the grant does not allow", async () => {
    expectError(await api("POST", "/v1/forms", { as: "lc-form", body: { key: "users/other/x.txt", contentType: "text/plain" } }), 403, "KeyOutsidePrefix", "body.key");
    expectError(await api("POST", "/v1/forms", { as: "lc-form", body: { keyPrefix: "users/", contentType: "text/plain" } }), 403, "KeyOutsidePrefix", "body.keyPrefix");
    expectError(await api("POST", "/v1/forms", { as: "lc-form", body: { key: "users/lc-form/x.exe", contentType: "application/x-msdownload" } }), 415, "ContentTypeNotAllowed", "body.contentType");
    expectError(await api("POST", "/v1/forms", { as: "lc-form", body: { key: "users/lc-form/x.bin" } }), 400, "InvalidInput", "body.contentType");
  });
});

/** What a cos-js-sdk-v5 app does with our answer: the request goes to COS with `Authorization`. */
async function authorized(as: string, request: { method: string; key: string; query?: Record<string, string | number>; headers?: Record<string, string | number> }) {
  const res = await api("POST", "/v1/authorize", { as, body: request });
  expect(res.status, res.text).toBe(200);
  expect(res.body.Authorization).toMatch(/^q-sign-algorithm=sha1&q-ak=.+&q-signature=[0-9a-f]{40}$/);
  expect(res.body.ExpiredTime).toBeGreaterThan(Date.now() / 1000);
  return res.body.Authorization as string;
}

describe("POST /v1/authorize", () => {
  const as = "lc-sdk";

  it("takes boolean values as cos-js-sdk-v5 passes them (x-cos-sdk-retry: true on a retried part), signed as their text", async () => {
    const request = (retry: boolean | string) => ({ method: "PUT", key: "users/lc-sdk/retried.bin", query: { partNumber: 1, uploadId: "u1" }, headers: { "content-length": 4, "x-cos-sdk-retry": retry } });
    const asBoolean = await api("POST", "/v1/authorize", { as, body: request(true) });
    expect(asBoolean.status, asBoolean.text).toBe(200);
    const asText = await api("POST", "/v1/authorize", { as, body: request("true") });
    const signature = (auth: string) => /q-signature=([0-9a-f]+)/.exec(auth)![1];
    const headerList = (auth: string) => /q-header-list=([^&]*)/.exec(auth)![1];
    expect(headerList(asBoolean.body.Authorization)).toContain("x-cos-sdk-retry");
    // Same second, same request: the same signature whichever way the value came.
    if (asBoolean.body.ExpiredTime === asText.body.ExpiredTime) expect(signature(asBoolean.body.Authorization)).toBe(signature(asText.body.Authorization));
  });
  const key = "users/lc-sdk/sdk/视频 1.bin";

  it("signs an SDK-shaped initiate, part, list and complete that cos-local accepts", async () => {
    const initAuth = await authorized(as, { method: "post", key, query: { uploads: "" }, headers: { "Content-Type": "application/octet-stream" } });
    const init = await fetch(cosUrl(key, "?uploads"), { method: "POST", headers: { Authorization: initAuth, "Content-Type": "application/octet-stream" } });
    const initXml = await init.text();
    expect(init.status, initXml).toBe(200);
    const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(initXml)![1];

    const body = bytes(4321, 5);
    const partAuth = await authorized(as, { method: "PUT", key, query: { partNumber: 1, uploadId }, headers: { "Content-Length": body.length } });
    const partUrl = cosUrl(key, `?partNumber=1&uploadId=${encodeURIComponent(uploadId)}`);
    const part = await fetch(partUrl, { method: "PUT", headers: { Authorization: partAuth }, body });
    remember(await part.text());
    expect(part.status).toBe(200);
    const etag = part.headers.get("etag")!;

    // content-length is in the signature: the same Authorization with another body size is refused.
    const resized = await fetch(partUrl, { method: "PUT", headers: { Authorization: partAuth }, body: body.slice(1) });
    expect([resized.status, await resized.text()]).toEqual([403, expect.stringContaining("SignatureDoesNotMatch")]);

    const listAuth = await authorized(as, { method: "GET", key, query: { uploadId } });
    const listed = await fetch(cosUrl(key, `?uploadId=${encodeURIComponent(uploadId)}`), { headers: { Authorization: listAuth } });
    expect([listed.status, await listed.text()]).toEqual([200, expect.stringMatching(new RegExp(`<ETag>(&quot;|")${etag.replace(/"/g, "")}(&quot;|")</ETag><Size>4321</Size>`))]);

    const completeXml = `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${etag}</ETag></Part></CompleteMultipartUpload>`;
    const completeAuth = await authorized(as, { method: "POST", key, query: { uploadId }, headers: { "Content-Type": "application/xml" } });
    const completed = await fetch(cosUrl(key, `?uploadId=${encodeURIComponent(uploadId)}`), { method: "POST", headers: { Authorization: completeAuth, "Content-Type": "application/xml" }, body: completeXml });
    expect([completed.status, await completed.text()]).toEqual([200, expect.stringContaining("<CompleteMultipartUploadResult>")]);

    const getAuth = await authorized(as, { method: "GET", key });
    const got = await fetch(cosUrl(key), { headers: { Authorization: getAuth } });
    expectSameBytes(new Uint8Array(await got.arrayBuffer()), body);
  });

  it("signs a bucket listing of uploads only under the caller's prefix", async () => {
    const auth = await authorized(as, { method: "GET", key: "", query: { uploads: "", prefix: "users/lc-sdk/" } });
    const listed = await fetch(`${cosUrl("")}?uploads&prefix=${encodeURIComponent("users/lc-sdk/")}`, { headers: { Authorization: auth } });
    expect([listed.status, await listed.text()]).toEqual([200, expect.stringContaining("<ListMultipartUploadsResult>")]);
  });

  it("refuses what is not an upload operation, or lies outside the prefix, or leaves the size unsigned", async () => {
    const refused = (body: Record<string, unknown>) => api("POST", "/v1/authorize", { as, body });
    expectError(await refused({ method: "DELETE", key: "users/lc-sdk/x.bin" }), 403, "OperationNotAllowed", "body.method");
    expectError(await refused({ method: "PUT", key: "users/lc-sdk/x.bin", query: { acl: "" }, headers: { "Content-Length": 1 } }), 403, "OperationNotAllowed", "body.method");
    expectError(await refused({ method: "GET", key: "", query: { uploads: "" } }), 403, "KeyOutsidePrefix", "body.query.prefix");
    expectError(await refused({ method: "GET", key: "", query: { prefix: "users/lc-sdk/" } }), 403, "OperationNotAllowed", "body.method");
    expectError(await refused({ method: "GET", key: "users/someone-else/x.bin" }), 403, "KeyOutsidePrefix", "body.key");
    expectError(await refused({ method: "PUT", key: "users/lc-sdk/x.bin" }), 400, "InvalidInput", "body.headers.content-length");
    expectError(await refused({ method: "PUT", key: "users/lc-sdk/x.bin", headers: { "Content-Length": "12abc" } }), 400, "InvalidInput", "body.headers.content-length");
    expectError(await refused({ method: "PUT", key: "users/lc-sdk/x.bin", headers: { "Content-Length": 100 * 1024 * 1024 + 1 } }), 413, "TooLarge", "body.headers.content-length");
    expectError(await refused({ method: "PUT", key: "users/lc-sdk/x.exe", headers: { "Content-Length": 1, "Content-Type": "application/x-msdownload" } }), 415, "ContentTypeNotAllowed", "body.headers.content-type");
    // A multipart upload signed piece by piece keeps to the grant too: no part over the size cap,
    // no initiate with a type the grant does not allow.
    const part = { partNumber: 1, uploadId: "some-upload" };
    expectError(await refused({ method: "PUT", key: "users/lc-sdk/x.bin", query: part, headers: { "Content-Length": 100 * 1024 * 1024 + 1 } }), 413, "TooLarge", "body.headers.content-length");
    expectError(await refused({ method: "PUT", key: "users/lc-sdk/x.bin", query: part }), 400, "InvalidInput", "body.headers.content-length");
    expectError(await refused({ method: "POST", key: "users/lc-sdk/x.exe", query: { uploads: "" }, headers: { "Content-Type": "application/x-msdownload" } }), 415, "ContentTypeNotAllowed", "body.headers.content-type");
    expectError(await refused({ method: "PUT", key: "users/lc-sdk/../x.bin", headers: { "Content-Length": 1 } }), 400, "InvalidInput", "body.key");
    // With content types limited, an unsigned type could be swapped by the uploader: it must be sent.
    expectError(await refused({ method: "PUT", key: "users/lc-sdk/x.bin", headers: { "Content-Length": 1 } }), 400, "InvalidInput", "body.headers.content-type");
    expectError(await refused({ method: "POST", key: "users/lc-sdk/x.bin", query: { uploads: "" } }), 400, "InvalidInput", "body.headers.content-type");
    expectError(await refused({ method: "POST", key: "users/lc-sdk/x.bin", query: { append: "", position: "1e3" }, headers: { "Content-Length": 1, "Content-Type": "text/plain" } }), 400, "InvalidInput", "body.query.position");
  });
});
