// /v1/forms: a POST Object policy for plain HTML form uploads (cos-protocol.md §4 "POST Object").
// The policy pins bucket, key (exact or prefix), size range, content type and expiration.

import { createRoute } from "@hono/zod-openapi";
import { cosLocation } from "../cos/endpoint";
import { postPolicy } from "../cos/presign";
import { invalidInput } from "../errors";
import { checkContentType, checkKeyInGrant, type Grant } from "../policy/grant";
import { errors, expiresFor, grantOf, isoTime, json, jsonBody, newRouter } from "./router";
import { FormRequest, FormResponse } from "./schemas";

export const forms = newRouter();

/**
 * The fixed prefix a prefix form grants (`starts-with $key`). The uploader writes the rest of the key
 * in the browser, and a POST policy cannot constrain that rest: its conditions are eq, starts-with
 * and content-length-range (cos-protocol.md §4), none of which can refuse a `..` segment, `%2e%2e` or
 * `//` after the prefix, and COS stores such keys as literal text. So a prefix form can create keys
 * that every other route refuses (policy/key.ts), though only under the caller's own prefix; README
 * "What a presigned URL does not pin" tells operators, and `key` gives an exact-key form instead.
 * What can be pinned is: the prefix is itself a valid key inside the grant (no `..` in any spelling)
 * and ends with "/", so the uploader's text starts a new segment rather than completing one of the
 * prefix's (`x.` + `.`, `%2` + `e%2e`).
 */
function formPrefix(grant: Grant, requested: string | undefined): string {
  const prefix = requested || grant.keyPrefix;
  checkKeyInGrant(grant, prefix, "body.keyPrefix");
  if (!prefix.endsWith("/")) {
    throw invalidInput("body.keyPrefix", requested
      ? "must end with / (a folder), so the rest of the key, chosen in the form, starts a new path segment"
      : `required: this caller's prefix "${grant.keyPrefix}" does not end with /, so name a folder inside it`);
  }
  return prefix;
}

/** A redirect back to one of the app's own origins (CORS_ORIGINS), so a form cannot be made an open redirect. */
function checkRedirect(redirect: string, origins: string[]): void {
  let url: URL;
  try {
    url = new URL(redirect);
  } catch {
    throw invalidInput("body.successActionRedirect", "must be an absolute http(s) URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw invalidInput("body.successActionRedirect", "must be an absolute http(s) URL");
  if (!origins.includes(url.origin)) throw invalidInput("body.successActionRedirect", `its origin ${url.origin} is not one of CORS_ORIGINS`);
}

forms.openapi(
  createRoute({
    method: "post",
    path: "/forms",
    summary: "A signed POST Object policy and the form fields that carry it",
    request: { body: jsonBody(FormRequest) },
    responses: { 200: json(FormResponse, "Form action URL and fields (put `file` last)"), ...errors(400, 401, 403, 413, 415, 429) },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const grant = await grantOf(c);
    if (body.key !== undefined && body.keyPrefix !== undefined) throw invalidInput("body.key", "send key or keyPrefix, not both");
    const key = body.key !== undefined ? checkKeyInGrant(grant, body.key, "body.key") : undefined;
    const keyPrefix = key === undefined ? formPrefix(grant, body.keyPrefix) : undefined;
    if (body.contentType) checkContentType(grant, body.contentType, "body.contentType");
    else if (grant.allowedContentTypes.length) throw invalidInput("body.contentType", `required: this caller may only upload ${grant.allowedContentTypes.join(", ")}`);
    const { config, now } = c.get("services");
    const redirect = body.successActionRedirect;
    if (redirect !== undefined) checkRedirect(redirect, config.corsOrigins);
    const max = Math.min(body.maxBytes ?? grant.maxUploadBytes, grant.maxUploadBytes);
    const { fields, expiresAt } = await postPolicy({
      credentials: config.cos.credentials, bucket: config.cos.target.bucket, key, keyPrefix,
      contentLengthRange: [0, max], contentType: body.contentType, successActionRedirect: redirect, now: now(), expires: expiresFor(grant, body.expires),
    });
    const formFields: Record<string, string> = { key: key ?? `${keyPrefix}\${filename}`, ...fields };
    if (body.contentType) formFields["Content-Type"] = body.contentType;
    if (redirect !== undefined) formFields.success_action_redirect = redirect;
    return c.json({ url: cosLocation(config.cos.target, "").url, fields: formFields, expiresAt: isoTime(expiresAt) }, 200);
  },
);
