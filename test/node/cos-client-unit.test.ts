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
