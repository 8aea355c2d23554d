// Unit tests of functions/cos/client.ts with a scripted fetch: paging and the three shapes of a
// Complete answer (cos-protocol.md §3.4). The end-to-end lifecycle runs in workerd against cos-local.
import { describe, expect, it } from "vitest";
import { CosClient } from "../../functions/cos/client";
import { isCosError } from "../../functions/cos/errors";

type Reply = { status?: number; body?: string; headers?: Record<string, string> };

function scripted(replies: Reply[]) {
  const requests: { method: string; url: URL; headers: Headers; body: string }[] = [];
  const fetchImpl = async (input: RequestInfo | URL, init?: RequestInit) => {
    requests.push({ method: init?.method ?? "GET", url: new URL(String(input)), headers: new Headers(init?.headers), body: String(init?.body ?? "") });
    const reply = replies.shift();
    if (!reply) throw new Error("unexpected request");
    return new Response(reply.body ?? "", { status: reply.status ?? 200, headers: reply.headers });
  };
  const client = new CosClient({
    credentials: { secretId: "AKIDunit", secretKey: "unit-secret", securityToken: "sts+token/=" },
    target: { bucket: "unit-1250000000", region: "ap-guangzhou" },
    fetch: fetchImpl as typeof fetch,
    now: () => 1_700_000_000_000,
  });
  return { client, requests };
}

const part = (n: number) => `<Part><PartNumber>${n}</PartNumber><LastModified>x</LastModified><ETag>"e${n}"</ETag><Size>${n * 10}</Size></Part>`;

describe("CosClient", () => {
  it("follows NextPartNumberMarker until IsTruncated is false", async () => {
    const { client, requests } = scripted([
      { body: `<ListPartsResult><Key>k</Key>${part(1)}${part(2)}<NextPartNumberMarker>2</NextPartNumberMarker><IsTruncated>true</IsTruncated></ListPartsResult>` },
      { body: `<ListPartsResult>${part(7)}<NextPartNumberMarker>7</NextPartNumberMarker><IsTruncated>false</IsTruncated></ListPartsResult>` },
    ]);
    const parts = await client.listParts("k", "0123");
    expect(parts).toEqual([1, 2, 7].map((n) => ({ partNumber: n, etag: `"e${n}"`, size: n * 10, lastModified: "x" })));
    expect(requests[1].url.searchParams.get("part-number-marker")).toBe("2");
    expect(requests[0].url.host).toBe("unit-1250000000.cos.ap-guangzhou.myqcloud.com");
    expect(requests[0].headers.get("authorization")).toContain("q-url-param-list=max-parts;uploadid");
    expect(requests[0].headers.get("x-cos-security-token")).toBe("sts+token/=");
  });

  it("pages uploads by key and upload-id markers and decodes url-encoded keys", async () => {
    const upload = (key: string, id: string) => `<Upload><Key>${key}</Key><UploadId>${id}</UploadId><Initiated>t</Initiated><StorageClass>STANDARD</StorageClass></Upload>`;
    const { client, requests } = scripted([
      { body: `<ListMultipartUploadsResult>${upload("a%20b", "1")}<IsTruncated>true</IsTruncated><NextKeyMarker>a%20b</NextKeyMarker><NextUploadIdMarker>1</NextUploadIdMarker></ListMultipartUploadsResult>` },
      { body: `<ListMultipartUploadsResult>${upload("c", "2")}<CommonPrefixes><Prefix>d%2F</Prefix></CommonPrefixes><IsTruncated>false</IsTruncated></ListMultipartUploadsResult>` },
    ]);
    const result = await client.listMultipartUploads({ prefix: "p" });
    expect(result.uploads.map((u) => [u.key, u.uploadId])).toEqual([["a b", "1"], ["c", "2"]]);
    expect(result.commonPrefixes).toEqual(["d/"]);
    expect(requests[1].url.searchParams.get("key-marker")).toBe("a b");
    expect(requests[1].url.searchParams.get("upload-id-marker")).toBe("1");
  });

  it("a listing that pages in a cycle, or is truncated with no next marker, is a 502-style CosError, never an endless loop or a silent partial list", async () => {
    const upload = (key: string) => `<Upload><Key>${key}</Key><UploadId>u-${key}</UploadId><Initiated>2000-01-01T00:00:00Z</Initiated></Upload>`;
    const page = (key: string, next: string, truncated = true) =>
      `<ListMultipartUploadsResult>${upload(key)}<NextKeyMarker>${next}</NextKeyMarker><NextUploadIdMarker>${next && `u-${next}`}</NextUploadIdMarker><IsTruncated>${truncated}</IsTruncated></ListMultipartUploadsResult>`;
    const cycle = scripted([{ body: page("a", "b") }, { body: page("b", "a") }, { body: page("a", "b") }]);
    const error = await cycle.client.listMultipartUploads().catch((e: unknown) => e);
    expect(isCosError(error) && [error.code, error.cosMessage]).toEqual(["InvalidResponse", "a listing whose next marker repeats an earlier page"]);
    expect(cycle.requests.length).toBeLessThanOrEqual(3);
    const noMarker = scripted([{ body: page("a", "") }]);
    expect(await noMarker.client.listMultipartUploads().catch((e: unknown) => (e as Error).message)).toContain("without a next marker");
    const parts = scripted([
      { body: `<ListPartsResult>${part(1)}<NextPartNumberMarker>1000</NextPartNumberMarker><IsTruncated>true</IsTruncated></ListPartsResult>` },
      { body: `<ListPartsResult>${part(2)}<NextPartNumberMarker>500</NextPartNumberMarker><IsTruncated>true</IsTruncated></ListPartsResult>` },
      { body: `<ListPartsResult>${part(3)}<NextPartNumberMarker>1000</NextPartNumberMarker><IsTruncated>true</IsTruncated></ListPartsResult>` },
    ]);
    expect(isCosError(await parts.client.listParts("k", "u").catch((e: unknown) => e))).toBe(true);
    // A key whose %-escapes do not decode is kept as COS sent it, not a URIError.
    const bad = scripted([{ body: page("bad%E0%A4", "", false) }]);
    expect((await bad.client.listMultipartUploads()).uploads.map((u) => u.key)).toEqual(["bad%E0%A4"]);
  });

  it("a COS that never answers, or cuts the body off, is a RequestFailed CosError (502), within the timeout", async () => {
    const hanging = new CosClient({
      credentials: { secretId: "AKIDunit", secretKey: "unit-secret" },
      target: { bucket: "unit-1250000000", region: "ap-guangzhou" },
      timeoutMs: 50,
      fetch: ((_input: RequestInfo | URL, init?: RequestInit) =>
        new Promise((_resolve, reject) => init?.signal?.addEventListener("abort", () => reject(init.signal!.reason)))) as typeof fetch,
    });
    const error = await hanging.headObject("k").catch((e: unknown) => e);
    expect(isCosError(error) && [error.code, error.cosMessage]).toEqual(["RequestFailed", "no answer from COS (no answer in 50 ms)"]);
    const cut = new CosClient({
      credentials: { secretId: "AKIDunit", secretKey: "unit-secret" },
      target: { bucket: "unit-1250000000", region: "ap-guangzhou" },
      fetch: (async () =>
        new Response(
          new ReadableStream({
            start(controller) {
              controller.enqueue(new TextEncoder().encode("   "));
              controller.error(new TypeError("Network connection lost."));
            },
          }),
        )) as typeof fetch,
    });
    const lost = await cut.completeMultipartUpload("k", "u", [{ partNumber: 1, etag: '"e"' }]).catch((e: unknown) => e);
    expect(isCosError(lost) && lost.code).toBe("RequestFailed");
  });

  it("decodes numeric character references in XML (an ETag as &#34;…&#34;) like the named ones", async () => {
    const { client } = scripted([{ body: `<ListPartsResult><Part><PartNumber>1</PartNumber><ETag>&#34;e1&#34;</ETag><Size>10</Size></Part><IsTruncated>false</IsTruncated></ListPartsResult>` }]);
    expect((await client.listParts("k", "u"))[0].etag).toBe('"e1"');
  });

  it("reads Complete's whitespace-then-XML body and sends parts sorted", async () => {
    const { client, requests } = scripted([
      { body: `   \n   \n<?xml version="1.0"?><CompleteMultipartUploadResult><Location>l</Location><Bucket>b</Bucket><Key>k</Key><ETag>"abc-2"</ETag></CompleteMultipartUploadResult>`, headers: { "x-cos-hash-crc64ecma": "42" } },
    ]);
    const result = await client.completeMultipartUpload("k", "u", [{ partNumber: 2, etag: '"b"' }, { partNumber: 1, etag: '"a"' }]);
    expect(result).toEqual({ location: "l", bucket: "b", key: "k", etag: '"abc-2"', crc64: "42" });
    expect(requests[0].body).toBe("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&quot;a&quot;</ETag></Part><Part><PartNumber>2</PartNumber><ETag>&quot;b&quot;</ETag></Part></CompleteMultipartUpload>");
  });

  it("fails on an <Error> inside a 200 Complete body and on a 200 without an ETag", async () => {
    const { client } = scripted([
      { body: "  <Error><Code>InternalError</Code><Message>merge failed</Message><RequestId>r1</RequestId></Error>" },
      { body: "<CompleteMultipartUploadResult><Key>k</Key></CompleteMultipartUploadResult>" },
      { body: "  " },
    ]);
    for (const code of ["InternalError", "InvalidResponse", "InvalidResponse"]) {
      const error = await client.completeMultipartUpload("k", "u", []).catch((e: unknown) => e);
      expect(isCosError(error) && error.code).toBe(code);
    }
  });

  it("maps an error XML to a CosError that names the request and never the secret", async () => {
    const { client } = scripted([
      { status: 403, body: "<Error><Code>SignatureDoesNotMatch</Code><Message>bad sig</Message><RequestId>rid</RequestId><StringToSign>sts</StringToSign><FormatString>fs</FormatString></Error>", headers: { "x-cos-request-id": "rid" } },
      { status: 404, headers: { "x-cos-request-id": "rid2" } },
    ]);
    const sig = await client.initiateMultipartUpload("dir/a b.txt").catch((e: unknown) => e);
    if (!isCosError(sig)) throw sig;
    expect([sig.status, sig.code, sig.requestId, sig.stringToSign, sig.formatString]).toEqual([403, "SignatureDoesNotMatch", "rid", "sts", "fs"]);
    expect(sig.message).toBe("COS POST https://unit-1250000000.cos.ap-guangzhou.myqcloud.com/dir/a%20b.txt failed: 403 SignatureDoesNotMatch: bad sig (request id rid)");
    const head = await client.headObject("missing").catch((e: unknown) => e);
    expect(isCosError(head) && [head.status, head.code, head.requestId]).toEqual([404, "NoSuchKey", "rid2"]);
    for (const e of [sig, head]) expect(JSON.stringify(e) + String(e)).not.toContain("unit-secret");
  });
});
