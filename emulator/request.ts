// From a raw request to what COS sees: bucket, key, the pathname it signs, the query, and the
// operation name (cos-protocol.md §2 "Path style", §3, §4). Path style is `/<bucket>/<key>` and
// signs that whole decoded path; virtual-host style is Host `<bucket>.cos.<region>.<anything>` and
// signs `/<key>`.

import type { IncomingHttpHeaders } from "node:http";
import { CosLocalError, cosErrors } from "./errors";

export interface QueryParam {
  /** Decoded name (`+` read as a space, as in any form-encoded query). */
  name: string;
  /** Decoded value ("" for a bare flag such as `?uploads`). */
  value: string;
  /** The value as sent, undecoded (an SDK sends the STS token raw, `+` included; §1.4). */
  raw: string;
}

export class Query {
  constructor(readonly params: QueryParam[]) {}

  static parse(search: string): Query {
    const params: QueryParam[] = [];
    const seen = new Set<string>();
    for (const pair of search.replace(/^\?/, "").split("&")) {
      if (pair === "") continue;
      const eq = pair.indexOf("=");
      const rawName = eq < 0 ? pair : pair.slice(0, eq);
      const raw = eq < 0 ? "" : pair.slice(eq + 1);
      const name = formDecode(rawName);
      // The signature matches parameters by lowercased name, the handlers by exact name: with two
      // spellings of one name (partNumber=1&partnumber=5), each could read a different value.
      if (seen.has(name.toLowerCase())) throw cosErrors.invalidArgument(`The query parameter ${JSON.stringify(name)} is given more than once.`);
      seen.add(name.toLowerCase());
      params.push({ name, value: formDecode(raw), raw });
    }
    return new Query(params);
  }

  has(name: string): boolean {
    return this.params.some((p) => p.name === name);
  }

  get(name: string): string | undefined {
    return this.params.find((p) => p.name === name)?.value;
  }
}

function formDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, " "));
  } catch {
    return s;
  }
}

export interface Target {
  bucket: string;
  /** "" for bucket-level requests. */
  key: string;
  /** The decoded pathname the client signed. */
  signedPathname: string;
}

/** Resolves bucket and key from Host and path. Unknown bucket → 404 NoSuchBucket. */
export function resolveTarget(rawPath: string, headers: IncomingHttpHeaders, buckets: readonly string[]): Target {
  let path: string;
  try {
    // Percent-decoding only: `+` in a path is a literal plus (§6 "Encode + as %2B").
    path = decodeURIComponent(rawPath);
  } catch {
    throw new CosLocalError(400, "InvalidURI", "Couldn't parse the specified URI.");
  }
  const host = (headers.host ?? "").replace(/:\d+$/, "");
  const virtual = /^([a-z0-9-]+)\.cos\.[^.]+\./i.exec(host);
  let bucket: string;
  let key: string;
  if (virtual) {
    bucket = virtual[1];
    key = path.slice(1);
  } else {
    const slash = path.indexOf("/", 1);
    bucket = slash < 0 ? path.slice(1) : path.slice(1, slash);
    key = slash < 0 ? "" : path.slice(slash + 1);
  }
  if (!buckets.includes(bucket)) {
    throw new CosLocalError(404, "NoSuchBucket", bucket === "" ? "No bucket in the request path or Host." : "The specified bucket does not exist.");
  }
  return { bucket, key, signedPathname: path };
}

/** The key rules of §6: ≤ 850 bytes of UTF-8, not empty, no CAN/EM/SUB/ESC (0x18-0x1B). */
export function validateKey(key: string): void {
  if (key === "") throw new CosLocalError(400, "InvalidObjectName", "The object key must not be empty.");
  if (Buffer.byteLength(key, "utf8") > 850) throw new CosLocalError(400, "KeyTooLong", "Your key is too long (the limit is 850 bytes of UTF-8).");
  if (/[\x18-\x1b]/.test(key)) throw new CosLocalError(400, "InvalidObjectName", "The object key contains a forbidden control character (0x18-0x1B).");
  if (key.startsWith("/") || key.startsWith("\\")) throw new CosLocalError(400, "InvalidObjectName", "The object key must not start with / or \\.");
}

/** The COS operation a request performs, by method, key presence and sub-resource. */
export function operationOf(method: string, key: string, query: Query, headers: IncomingHttpHeaders): string {
  if (method === "OPTIONS") return "OptionsObject";
  if (key === "") {
    switch (method) {
      case "GET":
        if (query.has("uploads")) return "ListMultipartUploads";
        if (query.has("cors")) return "GetBucketCors";
        return "GetBucket";
      case "HEAD":
        return "HeadBucket";
      case "PUT":
        return query.has("cors") ? "PutBucketCors" : "NotImplemented";
      case "DELETE":
        return query.has("cors") ? "DeleteBucketCors" : "NotImplemented";
      case "POST":
        if (query.has("delete")) return "DeleteMultipleObjects";
        if (/^multipart\/form-data/i.test(headers["content-type"] ?? "")) return "PostObject";
        return "NotImplemented";
    }
    return "MethodNotAllowed";
  }
  if (["acl", "tagging", "restore", "select"].some((sub) => query.has(sub)) || headers["x-cos-copy-source"]) return "NotImplemented";
  switch (method) {
    case "PUT":
      return query.has("partNumber") || query.has("uploadId") ? "UploadPart" : "PutObject";
    case "GET":
      return query.has("uploadId") ? "ListParts" : "GetObject";
    case "HEAD":
      return "HeadObject";
    case "DELETE":
      return query.has("uploadId") ? "AbortMultipartUpload" : "DeleteObject";
    case "POST":
      if (query.has("uploads")) return "InitiateMultipartUpload";
      if (query.has("uploadId")) return "CompleteMultipartUpload";
      if (query.has("append")) return "AppendObject";
      return "NotImplemented";
  }
  return "MethodNotAllowed";
}
