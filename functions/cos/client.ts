// The COS XML API, the only module that talks to COS. Requests go through an injected `fetch`,
// so the same code runs in workerd, Vercel Edge and Node, and tests point it at cos-local.

import { corsRulesFromXml, type CorsConfiguration } from "./cors";
import { cosLocation, type CosTarget } from "./endpoint";
import { codeForStatus, CosError } from "./errors";
import { lowerCaseKeys, type CosCredentials } from "./presign";
import { authorization, keyTime, type SignPairs } from "./sign";
import { buildXml, list, parseXml, text, type XmlNode } from "./xml";

export interface CosClientOptions {
  credentials: CosCredentials;
  target: CosTarget;
  /** Defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Unix milliseconds; injected so signatures are deterministic in tests. Default `Date.now`. */
  now?: () => number;
  /** Lifetime of each request signature in seconds. Default 900. */
  signExpires?: number;
  /** How long one request may take, answer and body, in ms. Default 120 000 (a large Complete can take a while). */
  timeoutMs?: number;
}

/** A URL-encoded key from a listing; one that does not decode (bad %-escapes) is kept as sent. */
function decodeKey(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

export interface UploadedPart {
  partNumber: number;
  etag: string;
  size: number;
  lastModified: string;
}

export interface MultipartUploadInfo {
  key: string;
  uploadId: string;
  initiated: string;
  storageClass: string;
}

export interface ObjectInfo {
  size: number;
  etag: string;
  /** `x-cos-hash-crc64ecma`, or undefined when COS has none for the object. */
  crc64?: string;
  contentType: string;
  lastModified: string;
  headers: Headers;
}

export interface CompleteResult {
  location: string;
  bucket: string;
  key: string;
  etag: string;
  crc64?: string;
}

interface RequestSpec {
  method: string;
  key: string;
  query?: Record<string, string>;
  headers?: SignPairs;
  body?: string | Uint8Array | ReadableStream<Uint8Array>;
}

export class CosClient {
  private readonly fetch: typeof fetch;
  private readonly now: () => number;

  constructor(private readonly options: CosClientOptions) {
    this.fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.now = options.now ?? Date.now;
  }

  /** Initiate Multipart Upload (§3.1); `headers` become the object's metadata. */
  async initiateMultipartUpload(key: string, headers: SignPairs = {}): Promise<{ bucket: string; key: string; uploadId: string }> {
    const { body } = await this.xmlRequest({ method: "POST", key, query: { uploads: "" }, headers });
    const uploadId = text(body, "UploadId");
    if (!uploadId) throw this.invalidResponse("POST", key, "InitiateMultipartUploadResult has no UploadId");
    return { bucket: text(body, "Bucket"), key: text(body, "Key") || key, uploadId };
  }

  /** List Parts (§3.3), following NextPartNumberMarker until the list is complete. */
  async listParts(key: string, uploadId: string): Promise<UploadedPart[]> {
    const parts: UploadedPart[] = [];
    let marker = "";
    const seen = new Set<string>();
    for (;;) {
      const query: Record<string, string> = { uploadId, "max-parts": "1000" };
      if (marker) query["part-number-marker"] = marker;
      const { body } = await this.xmlRequest({ method: "GET", key, query });
      for (const part of list(body, "Part")) {
        parts.push({
          partNumber: Number(text(part, "PartNumber")),
          etag: text(part, "ETag"),
          size: Number(text(part, "Size")),
          lastModified: text(part, "LastModified"),
        });
      }
      if (text(body, "IsTruncated") !== "true") return parts;
      const next = text(body, "NextPartNumberMarker");
      this.checkPaging(next, seen, "GET", key);
      marker = next;
    }
  }

  /**
   * Complete Multipart Upload (§3.4). COS answers 200 at once and sends whitespace while it
   * merges, so the whole body is read before parsing; an `<Error>` inside that 200 is a failure.
   */
  async completeMultipartUpload(key: string, uploadId: string, parts: { partNumber: number; etag: string }[]): Promise<CompleteResult> {
    const sorted = [...parts].sort((a, b) => a.partNumber - b.partNumber);
    const xml = buildXml({ CompleteMultipartUpload: { Part: sorted.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })) } });
    const { body, response } = await this.xmlRequest({
      method: "POST",
      key,
      query: { uploadId },
      headers: { "content-type": "application/xml" },
      body: xml,
    });
    const etag = text(body, "ETag");
    if (!etag) throw this.invalidResponse("POST", key, "CompleteMultipartUploadResult has no ETag");
    return {
      location: text(body, "Location"),
      bucket: text(body, "Bucket"),
      key: text(body, "Key") || key,
      etag,
      crc64: response.headers.get("x-cos-hash-crc64ecma") ?? undefined,
    };
  }

  /** Abort Multipart Upload (§3.5). */
  async abortMultipartUpload(key: string, uploadId: string): Promise<void> {
    await this.send({ method: "DELETE", key, query: { uploadId } });
  }

  /** List Multipart Uploads (§3.6), all pages. Keys come back URL-encoded and are decoded here. */
  async listMultipartUploads(options: { prefix?: string; delimiter?: string } = {}): Promise<{ uploads: MultipartUploadInfo[]; commonPrefixes: string[] }> {
    const uploads: MultipartUploadInfo[] = [];
    const commonPrefixes: string[] = [];
    let keyMarker = "";
    let uploadIdMarker = "";
    const seen = new Set<string>();
    for (;;) {
      const query: Record<string, string> = { uploads: "", "encoding-type": "url", "max-uploads": "1000" };
      if (options.prefix) query.prefix = options.prefix;
      if (options.delimiter) query.delimiter = options.delimiter;
      if (keyMarker) query["key-marker"] = keyMarker;
      if (uploadIdMarker) query["upload-id-marker"] = uploadIdMarker;
      const { body } = await this.xmlRequest({ method: "GET", key: "", query });
      for (const upload of list(body, "Upload")) {
        uploads.push({
          key: decodeKey(text(upload, "Key")),
          uploadId: text(upload, "UploadId"),
          initiated: text(upload, "Initiated"),
          storageClass: text(upload, "StorageClass"),
        });
      }
      for (const prefix of list(body, "CommonPrefixes")) commonPrefixes.push(decodeKey(text(prefix, "Prefix")));
      if (text(body, "IsTruncated") !== "true") return { uploads, commonPrefixes };
      const nextKey = decodeKey(text(body, "NextKeyMarker"));
      const nextId = text(body, "NextUploadIdMarker");
      this.checkPaging(nextKey || nextId ? `${nextKey}\n${nextId}` : "", seen, "GET", "");
      keyMarker = nextKey;
      uploadIdMarker = nextId;
    }
  }

  /** GET Bucket cors (§5): the bucket's CORS rules, or null when it has none (404 NoSuchCORSConfiguration). */
  async getBucketCors(): Promise<CorsConfiguration | null> {
    try {
      const { body } = await this.xmlRequest({ method: "GET", key: "", query: { cors: "" } });
      return corsRulesFromXml(body);
    } catch (error) {
      if (error instanceof CosError && error.status === 404 && error.code === "NoSuchCORSConfiguration") return null;
      throw error;
    }
  }

  /** HEAD Object. A missing object is a CosError with code NoSuchKey (HEAD errors have no body). */
  async headObject(key: string): Promise<ObjectInfo> {
    const response = await this.send({ method: "HEAD", key });
    const h = response.headers;
    return {
      size: Number(h.get("content-length") ?? "0"),
      etag: h.get("etag") ?? "",
      crc64: h.get("x-cos-hash-crc64ecma") ?? undefined,
      contentType: h.get("content-type") ?? "",
      lastModified: h.get("last-modified") ?? "",
      headers: h,
    };
  }

  /** PUT Object with a body whose size is known; `headers` carry content-type and metadata. */
  async putObject(key: string, body: string | Uint8Array, headers: SignPairs = {}): Promise<{ etag: string; crc64?: string }> {
    const length = typeof body === "string" ? new TextEncoder().encode(body).length : body.length;
    const response = await this.send({ method: "PUT", key, body, headers: { ...headers, "content-length": length } });
    return { etag: response.headers.get("etag") ?? "", crc64: response.headers.get("x-cos-hash-crc64ecma") ?? undefined };
  }

  /**
   * A truncated page must name a marker not seen before: without one the list would end early
   * unnoticed, with one seen before it would page forever. Either is a bad answer (502).
   */
  private checkPaging(next: string, seen: Set<string>, method: string, key: string): void {
    if (!next) throw this.invalidResponse(method, key, "a truncated listing without a next marker");
    if (seen.has(next)) throw this.invalidResponse(method, key, "a listing whose next marker repeats an earlier page");
    seen.add(next);
  }

  private async xmlRequest(spec: RequestSpec): Promise<{ body: XmlNode; response: Response }> {
    const response = await this.send(spec);
    const raw = (await this.readText(response, spec)).trim();
    if (!raw) throw this.invalidResponse(spec.method, spec.key, "empty response body");
    const parsed = this.parseOrThrow(raw, spec);
    if (parsed.root === "Error") throw this.errorFromXml(response, parsed.body, spec);
    return { body: parsed.body, response };
  }

  /** Signs (header form) and sends a request; throws CosError on any non-2xx status. */
  private async send(spec: RequestSpec): Promise<Response> {
    const { credentials, target } = this.options;
    const location = cosLocation(target, spec.key);
    const query = spec.query ?? {};
    const signed = { ...lowerCaseKeys(spec.headers), host: location.host };
    const auth = await authorization({
      secretId: credentials.secretId,
      secretKey: credentials.secretKey,
      method: spec.method,
      pathname: location.pathname,
      query,
      headers: signed,
      keyTime: keyTime(this.now(), this.options.signExpires ?? 900),
    });
    const headers = new Headers();
    for (const [name, value] of Object.entries(signed)) if (name !== "host") headers.set(name, value);
    headers.set("authorization", auth);
    if (credentials.securityToken) headers.set("x-cos-security-token", credentials.securityToken);
    const search = Object.entries(query)
      .map(([name, value]) => (value === "" ? encodeURIComponent(name) : `${encodeURIComponent(name)}=${encodeURIComponent(value)}`))
      .join("&");
    let response: Response;
    try {
      response = await this.fetch(search ? `${location.url}?${search}` : location.url, {
        method: spec.method,
        headers,
        body: spec.body as BodyInit | undefined,
        // Covers the body too: a COS that accepts the connection and never answers cannot hang a route or the sweeper.
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 120_000),
      });
    } catch (error) {
      // No answer (refused, reset, lost): a COS failure like any other, so the API says 502, not 500.
      throw this.noAnswer(spec, location.url, error);
    }
    if (response.ok) return response;
    const raw = spec.method === "HEAD" ? "" : (await this.readText(response, spec)).trim();
    const parsed = raw ? this.tryParse(raw) : null;
    if (parsed?.root === "Error") throw this.errorFromXml(response, parsed.body, spec);
    throw new CosError({
      status: response.status,
      code: codeForStatus(response.status),
      message: raw.slice(0, 200) || response.statusText || "no response body",
      requestId: response.headers.get("x-cos-request-id") ?? undefined,
      method: spec.method,
      url: location.url,
    });
  }

  private errorFromXml(response: Response, body: XmlNode, spec: RequestSpec): CosError {
    return new CosError({
      status: response.status,
      code: text(body, "Code") || codeForStatus(response.status),
      message: text(body, "Message"),
      requestId: text(body, "RequestId") || response.headers.get("x-cos-request-id") || undefined,
      resource: text(body, "Resource") || undefined,
      stringToSign: text(body, "StringToSign") || undefined,
      formatString: text(body, "FormatString") || undefined,
      method: spec.method,
      url: cosLocation(this.options.target, spec.key).url,
    });
  }

  private tryParse(raw: string): ReturnType<typeof parseXml> | null {
    try {
      return parseXml(raw);
    } catch {
      return null;
    }
  }

  private parseOrThrow(raw: string, spec: RequestSpec): ReturnType<typeof parseXml> {
    const parsed = this.tryParse(raw);
    if (!parsed) throw this.invalidResponse(spec.method, spec.key, `malformed XML: ${raw.slice(0, 120)}`);
    return parsed;
  }

  /** A request that got no (whole) answer: refused, reset, cut off mid-body, or past the timeout. */
  private noAnswer(spec: RequestSpec, url: string, error: unknown): CosError {
    const why = (error as Error).name === "TimeoutError" ? `no answer in ${this.options.timeoutMs ?? 120_000} ms` : (error as Error).message;
    return new CosError({ status: 0, code: "RequestFailed", message: `no answer from COS (${why})`, method: spec.method, url });
  }

  /** The response body as text; a connection lost while reading it is a RequestFailed (502), not a 500. */
  private async readText(response: Response, spec: RequestSpec): Promise<string> {
    try {
      return await response.text();
    } catch (error) {
      throw this.noAnswer(spec, cosLocation(this.options.target, spec.key).url, error);
    }
  }

  private invalidResponse(method: string, key: string, message: string): CosError {
    return new CosError({ status: 200, code: "InvalidResponse", message, method, url: cosLocation(this.options.target, key).url });
  }
}
