// GET /v1/diagnostics: what would stop a page at an origin from uploading, found before an upload
// fails on it (peers.md §3.1: a CORS rule that hides ETag is every S3-direct library's most common
// first-day failure, and none checks for it up front). The bucket's CORS rules are read from COS and
// judged the way COS applies them (functions/cos/cors.ts); CORS_ORIGINS is checked too.

import { createRoute } from "@hono/zod-openapi";
import { corsProblems, errorsFirst, type CorsConfiguration, type CorsProblem } from "../cos/cors";
import { isCosError } from "../cos/errors";
import { corsAllows } from "../config";
import { invalidInput } from "../errors";
import { errors, grantOf, isoTime, json, newRouter } from "./router";
import { DiagnosticsQuery, DiagnosticsReport, ORIGIN_FORM } from "./schemas";

export const diagnostics = newRouter();

diagnostics.openapi(
  createRoute({
    method: "get",
    path: "/diagnostics",
    summary: "Check the bucket's CORS rules and CORS_ORIGINS for a page's origin",
    request: { query: DiagnosticsQuery },
    responses: { 200: json(DiagnosticsReport, "What would stop uploads from this origin (none: problems is empty)"), ...errors(400, 401, 429, 502) },
  }),
  async (c) => {
    await grantOf(c);
    const origin = c.req.valid("query").origin ?? c.req.header("origin");
    if (!origin || origin === "null") throw invalidInput("query.origin", "send the page's origin (location.origin); this request has no Origin header");
    if (!DiagnosticsQuery.shape.origin.safeParse(origin).success) throw invalidInput("header.origin", `(used when query.origin is absent) ${ORIGIN_FORM}`);
    const { config, cos, now } = c.get("services");
    const problems: CorsProblem[] = [];
    if (!corsAllows(config, origin)) {
      problems.push({ severity: "error", code: "ApiOriginNotAllowed", message: `CORS_ORIGINS does not include ${origin}, so a page there cannot call these functions: add it` });
    }
    let rules: CorsConfiguration | null | undefined;
    try {
      rules = await cos.getBucketCors();
    } catch (error) {
      if (!(isCosError(error) && error.status === 403 && error.code === "AccessDenied")) throw error;
      problems.push({ severity: "warning", code: "CorsUnreadable", message: `COS refused to show the bucket's CORS rules (${error.code}): allow the functions' key GetBucketCORS, or check the rules by hand (README "Bucket CORS on COS")` });
    }
    const bucket = rules === undefined ? [] : corsProblems(rules, origin);
    return c.json({ origin, serverTime: isoTime(now()), bucketCors: rules === undefined ? ("unreadable" as const) : bucket.length ? ("problems" as const) : ("ok" as const), problems: errorsFirst([...problems, ...bucket]) }, 200);
  },
);
