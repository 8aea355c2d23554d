// /v1/forms: a POST Object policy for plain HTML form uploads (cos-protocol.md §4 "POST Object").
// The policy pins bucket, key (exact or prefix), size range, content type and expiration.

import { createRoute } from "@hono/zod-openapi";
import { cosLocation } from "../cos/endpoint";
import { postPolicy } from "../cos/presign";
import { invalidInput } from "../errors";
import { checkContentType, checkKeyInGrant } from "../policy/grant";
import { errors, expiresFor, grantOf, isoTime, json, jsonBody, newRouter } from "./router";
import { FormRequest, FormResponse } from "./schemas";

export const forms = newRouter();

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
    // A prefix is checked as a key would be: it must itself lie inside the caller's prefix.
    const keyPrefix = key === undefined ? (body.keyPrefix ? checkKeyInGrant(grant, body.keyPrefix, "body.keyPrefix") : grant.keyPrefix) : undefined;
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
