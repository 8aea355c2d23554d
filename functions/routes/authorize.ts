// POST /v1/authorize: the signing backend for apps already built on cos-js-sdk-v5. Its
// `getAuthorization(options, callback)` receives { Method, Key, Pathname, Query, Headers }; the app
// posts those here and hands our answer to the callback unchanged (cos-protocol.md §1.4).
// Only upload-related operations are signed, only under the caller's prefix.

import { createRoute } from "@hono/zod-openapi";
import type * as z from "zod";
import { cosLocation } from "../cos/endpoint";
import { lowerCaseKeys } from "../cos/presign";
import { authorization, keyTime, type SignPairs } from "../cos/sign";
import { COS_MAX_PARTS } from "../config";
import { ApiError, invalidInput } from "../errors";
import { checkContentType, checkKeyInGrant, checkSize, type Grant } from "../policy/grant";
import { errors, expiresFor, grantOf, json, jsonBody, newRouter } from "./router";
import { AuthorizeRequest, AuthorizeResponse } from "./schemas";

export const authorize = newRouter();

/** Headers COS SDKs sign (cos-protocol.md §1.3); others are left out of the signature. */
const SIGNABLE = new Set([
  "cache-control", "content-disposition", "content-encoding", "content-length", "content-md5", "content-type",
  "expect", "expires", "if-match", "if-modified-since", "if-none-match", "if-unmodified-since", "origin", "range", "transfer-encoding",
]);

type Input = z.infer<typeof AuthorizeRequest>;

/** The COS operation a request performs, from its method and sub-resource (query) names. */
export function operationOf(method: string, key: string, query: Record<string, unknown>): string | null {
  const has = (name: string) => Object.keys(query).some((q) => q.toLowerCase() === name);
  const names = Object.keys(query).map((q) => q.toLowerCase());
  const only = (...allowed: string[]) => names.every((n) => allowed.includes(n));
  switch (method) {
    case "PUT":
      if (!key) return null;
      if (has("partnumber") && has("uploadid") && only("partnumber", "uploadid", "x-cos-traffic-limit")) return "UploadPart";
      return only("x-cos-traffic-limit") ? "PutObject" : null;
    case "POST":
      if (!key) return null;
      if (has("uploads") && only("uploads")) return "InitiateMultipartUpload";
      if (has("uploadid") && only("uploadid")) return "CompleteMultipartUpload";
      if (has("append") && has("position") && only("append", "position")) return "AppendObject";
      return null;
    case "GET":
      if (!key) return has("uploads") && only("uploads", "prefix", "delimiter", "key-marker", "upload-id-marker", "max-uploads", "encoding-type") ? "ListMultipartUploads" : null;
      if (has("uploadid") && only("uploadid", "max-parts", "part-number-marker", "encoding-type")) return "ListParts";
      return names.every((n) => n.startsWith("response-") || n === "x-cos-traffic-limit") ? "GetObject" : null;
    case "HEAD":
      return key && names.length === 0 ? "HeadObject" : null;
    case "DELETE":
      return key && has("uploadid") && only("uploadid") ? "AbortMultipartUpload" : null;
    default:
      return null;
  }
}

/** The size rules for operations that send a body: content-length must be there, and signed. */
function checkBody(grant: Grant, operation: string, headers: Record<string, string>, query: Record<string, string>): void {
  if (["PutObject", "UploadPart", "AppendObject"].includes(operation)) {
    const length = headers["content-length"];
    if (length === undefined || !/^\d+$/.test(length)) throw invalidInput("body.headers.content-length", `required for ${operation}, so the signature fixes the size`);
    const position = query.position ?? "0";
    if (!/^\d+$/.test(position)) throw invalidInput("body.query.position", "must be a non-negative integer");
    // Without an upload token the parts' total is unknown here, but no single part may exceed the cap.
    checkSize(grant, Number(length) + Number(position), "body.headers.content-length");
    if (operation === "UploadPart") {
      // Part k of an upload in equal slices (as the SDKs cut them) has k × its size ≤ the total, so
      // a part past that cannot belong to an upload within the cap. This bounds what parts signed
      // here can add up to at about 10 × the cap (the sum of cap/k) instead of 10,000 × the cap.
      const partNumber = Number(query.partnumber);
      if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > COS_MAX_PARTS) throw invalidInput("body.query.partNumber", `must be an integer from 1 to ${COS_MAX_PARTS}`);
      checkSize(grant, partNumber * Number(length), "body.headers.content-length (times partNumber)");
    }
  }
  // Initiate, PUT and APPEND fix the object's content type. When the grant limits types, the type
  // must be sent, so it is signed and the uploader cannot swap it for another.
  if (["PutObject", "InitiateMultipartUpload", "AppendObject"].includes(operation) && (headers["content-type"] || grant.allowedContentTypes.length)) {
    if (!headers["content-type"]) throw invalidInput("body.headers.content-type", `required for ${operation}: this caller may only upload ${grant.allowedContentTypes.join(", ")}`);
    checkContentType(grant, headers["content-type"], "body.headers.content-type");
  }
}

authorize.openapi(
  createRoute({
    method: "post",
    path: "/authorize",
    summary: "Sign one COS request for cos-js-sdk-v5's getAuthorization callback",
    request: { body: jsonBody(AuthorizeRequest) },
    responses: { 200: json(AuthorizeResponse, "What getAuthorization's callback expects"), ...errors(400, 401, 403, 413, 415, 429) },
  }),
  async (c) => {
    const input: Input = c.req.valid("json");
    const grant = await grantOf(c);
    const { config, now } = c.get("services");
    const method = input.method.toUpperCase();
    const key = input.key ?? (input.pathname ?? "").replace(/^\//, "");
    // Values as sent on the wire: the SDK sends `x-cos-sdk-retry: true` for a boolean true.
    const asText = (pairs: Record<string, string | number | boolean> = {}) => Object.fromEntries(Object.entries(pairs).map(([k, v]) => [k, String(v)]));
    const query = asText(input.query);
    const operation = operationOf(method, key, query);
    if (!operation) throw new ApiError(403, "OperationNotAllowed", `body.method: ${method} ${key ? "on an object" : "on the bucket"} with query [${Object.keys(query).join(", ")}] is not an upload operation this service signs`);
    if (key) checkKeyInGrant(grant, key, "body.key");
    else if (!(query.prefix ?? "").startsWith(grant.keyPrefix)) throw new ApiError(403, "KeyOutsidePrefix", `body.query.prefix: must start with "${grant.keyPrefix}"`);
    const allHeaders = lowerCaseKeys(asText(input.headers));
    // PUT Object - Copy and Upload Part - Copy read the object x-cos-copy-source names, which may be
    // anywhere in the bucket: signed, it would copy another caller's object into this caller's prefix.
    const copy = Object.keys(allHeaders).find((name) => name.startsWith("x-cos-copy-source"));
    if (copy) throw new ApiError(403, "OperationNotAllowed", `body.headers.${copy}: copying from another object is not an upload operation this service signs`);
    // The functions decide who may read an object (private, through presigned GETs): an ACL header
    // would let a caller make its objects public or grant them to another account.
    const acl = Object.keys(allHeaders).find((name) => (name === "x-cos-acl" && !["private", "default"].includes(allHeaders[name])) || name.startsWith("x-cos-grant-"));
    if (acl) throw new ApiError(403, "OperationNotAllowed", `body.headers.${acl}: object ACLs are decided by this service (private), not by the uploader`);
    checkBody(grant, operation, allHeaders, lowerCaseKeys(query));

    const location = cosLocation(config.cos.target, key);
    const headers: SignPairs = { host: location.host };
    for (const [name, value] of Object.entries(allHeaders)) if (SIGNABLE.has(name) || name.startsWith("x-cos-")) headers[name] = value;
    const kt = keyTime(now(), expiresFor(grant));
    const token = config.cos.credentials.securityToken;
    return c.json(
      {
        Authorization: await authorization({ ...config.cos.credentials, method, pathname: location.pathname, query, headers, keyTime: kt }),
        ...(token ? { SecurityToken: token, XCosSecurityToken: token } : {}),
        ExpiredTime: Number(kt.split(";")[1]),
      },
      200,
    );
  },
);
