// Bucket CORS rules (cos-protocol.md §5) and how COS picks one: rules are tried in order and the
// FIRST match wins, so a first rule without ExposeHeader hides ETag even when a later one lists it
// (cos-js-sdk-v5#56). cos-local answers browsers with these functions; the functions use them to
// check a bucket's rules before any upload fails on them (`GET /v1/diagnostics`).

import { list, text, type XmlNode } from "./xml";

export interface CorsRule {
  id?: string;
  /** `*`, an exact origin, or a pattern with one `*` (`http://*.example.com`). */
  allowedOrigins: string[];
  allowedMethods: string[];
  /** `*`, names, or names with one `*` (`x-cos-meta-*`); compared case-insensitively. */
  allowedHeaders: string[];
  exposeHeaders: string[];
  maxAgeSeconds?: number;
}

export interface CorsConfiguration {
  rules: CorsRule[];
  /** Adds `Vary: Origin` to matched responses (COS's ResponseVary). */
  responseVary?: boolean;
}

/** A pattern with at most one `*` against a value. */
function wildcardMatch(pattern: string, value: string): boolean {
  const star = pattern.indexOf("*");
  if (star < 0) return pattern === value;
  const [head, tail] = [pattern.slice(0, star), pattern.slice(star + 1)];
  return value.length >= head.length + tail.length && value.startsWith(head) && value.endsWith(tail);
}

/** Whether one rule allows origin, method and every requested header. */
function ruleAllows(rule: CorsRule, origin: string, method: string, requestHeaders: string[] = []): boolean {
  return (
    rule.allowedOrigins.some((o) => wildcardMatch(o, origin)) &&
    rule.allowedMethods.some((m) => m.toUpperCase() === method.toUpperCase()) &&
    requestHeaders.every((h) => rule.allowedHeaders.some((a) => wildcardMatch(a.toLowerCase(), h.toLowerCase())))
  );
}

/** The index of the first rule allowing origin, method and every requested header, or -1. */
export function matchRuleIndex(config: CorsConfiguration, origin: string, method: string, requestHeaders: string[] = []): number {
  return config.rules.findIndex((rule) => ruleAllows(rule, origin, method, requestHeaders));
}

/** The first rule allowing origin, method and every requested header, or undefined. */
export function matchRule(config: CorsConfiguration, origin: string, method: string, requestHeaders: string[] = []): CorsRule | undefined {
  return config.rules[matchRuleIndex(config, origin, method, requestHeaders)];
}

/** The rules of a `<CORSConfiguration>` body as written, without judging them (cos-local validates its own). */
export function corsRulesFromXml(body: XmlNode): CorsConfiguration {
  const strings = (node: XmlNode, name: string) => {
    const value = node[name];
    return (Array.isArray(value) ? value : value === undefined ? [] : [value]).filter((v): v is string => typeof v === "string" && v !== "");
  };
  const rules = list(body, "CORSRule").map((node): CorsRule => {
    const maxAge = text(node, "MaxAgeSeconds");
    return {
      id: text(node, "ID") || undefined,
      allowedOrigins: strings(node, "AllowedOrigin"),
      allowedMethods: strings(node, "AllowedMethod").map((m) => m.toUpperCase()),
      allowedHeaders: strings(node, "AllowedHeader"),
      exposeHeaders: strings(node, "ExposeHeader"),
      maxAgeSeconds: maxAge === "" ? undefined : Number(maxAge),
    };
  });
  return { rules, responseVary: text(body, "ResponseVary") === "true" };
}

export interface CorsProblem {
  /** `error`: uploads from this origin fail; `warning`: some feature does not work. */
  severity: "error" | "warning";
  code: string;
  message: string;
}

/** What the client needs to read from an answer, by the method that gets it (PUT: uploads and parts; POST: appends), and what for. */
const EXPOSED: { method: "PUT" | "POST"; header: string; severity: CorsProblem["severity"]; code: string; why: string }[] = [
  { method: "PUT", header: "ETag", severity: "error", code: "EtagNotExposed", why: "multipart uploads cannot complete without every part's ETag" },
  { method: "PUT", header: "x-cos-hash-crc64ecma", severity: "error", code: "Crc64NotExposed", why: "the client checks each part's CRC-64 and fails the upload when it cannot read it (unless integrity is off)" },
  { method: "PUT", header: "Date", severity: "warning", code: "DateNotExposed", why: "the client cannot correct a wrong device clock from COS's answers" },
  { method: "PUT", header: "x-cos-request-id", severity: "warning", code: "RequestIdNotExposed", why: "errors cannot quote COS's request id" },
  { method: "POST", header: "x-cos-next-append-position", severity: "warning", code: "AppendPositionNotExposed", why: "appends cannot read where the next one starts (the client assumes it follows the bytes sent)" },
];

/** Request headers an upload may send (functions/routes/headers.ts): content-type always, the rest when the upload sets them; the traffic limit travels in the query. */
const OPTIONAL_HEADERS = ["content-md5", "cache-control", "content-disposition", "content-encoding", "x-cos-meta-name", "x-cos-storage-class"];

/** How a header of OPTIONAL_HEADERS is named in a message (metadata is a family, tried with one member). */
const shown = (headers: string[]) => headers.map((h) => (h === "x-cos-meta-name" ? "x-cos-meta-*" : h)).join(", ");

const ruleName = (config: CorsConfiguration, index: number) => {
  const id = config.rules[index].id;
  return `rule ${index + 1}${id ? ` (${JSON.stringify(id)})` : ""}`;
};

/**
 * What stops a page at `origin` from uploading straight to the bucket, judged the way COS judges
 * requests: the preflight takes the first rule allowing origin, method and headers; the answer's
 * exposed headers come from the first rule allowing origin and method. Empty when all is well.
 */
export function corsProblems(config: CorsConfiguration | null, origin: string): CorsProblem[] {
  if (!config || config.rules.length === 0) {
    return [{ severity: "error", code: "NoCorsRules", message: "the bucket has no CORS rules, so browsers cannot send it anything: add one for this origin (README \"Bucket CORS on COS\")" }];
  }
  const problems: CorsProblem[] = [];
  const put = matchRuleIndex(config, origin, "PUT");
  if (put < 0) {
    return [{ severity: "error", code: "OriginNotAllowed", message: `no CORS rule allows PUT from ${origin}: add ${origin} to AllowedOrigin and PUT to AllowedMethod` }];
  }
  const preflightPasses = (method: string, headers: string[]) => matchRuleIndex(config, origin, method, headers) >= 0;
  if (!preflightPasses("PUT", ["content-type"])) {
    problems.push({ severity: "error", code: "HeaderNotAllowed", message: `no CORS rule allows PUT from ${origin} with a Content-Type header: add content-type (or *) to AllowedHeader` });
  } else {
    const refused = OPTIONAL_HEADERS.filter((h) => !preflightPasses("PUT", ["content-type", h]));
    if (refused.length) {
      problems.push({ severity: "warning", code: "HeaderNotAllowed", message: `uploads that send ${shown(refused)} are refused by the CORS preflight: add them (or *) to AllowedHeader` });
    } else if (!preflightPasses("PUT", ["content-type", ...OPTIONAL_HEADERS])) {
      // A preflight lists every header at once, and one rule must allow them all.
      problems.push({ severity: "warning", code: "HeaderNotAllowed", message: `each of ${shown(OPTIONAL_HEADERS)} is allowed by some rule, but no one rule allows them all, so an upload that sends several at once is refused by the CORS preflight: put them (or *) in one rule's AllowedHeader` });
    }
  }
  const post = matchRuleIndex(config, origin, "POST");
  if (!preflightPasses("POST", ["content-type"])) {
    problems.push({ severity: "warning", code: "AppendNotAllowed", message: `no CORS rule allows POST from ${origin} with a Content-Type header, so appends from the browser fail: add POST to AllowedMethod` });
  }
  const exposes = (rule: CorsRule, header: string) => rule.exposeHeaders.some((h) => h === "*" || h.toLowerCase() === header.toLowerCase());
  for (const need of EXPOSED) {
    const first = need.method === "PUT" ? put : post;
    if (first < 0 || exposes(config.rules[first], need.header)) continue;
    // COS uses the first matching rule only: a later one that exposes the header does not help.
    const later = config.rules.slice(first + 1).some((rule) => exposes(rule, need.header) && ruleAllows(rule, origin, need.method));
    problems.push({
      severity: need.severity,
      code: need.code,
      message: `${ruleName(config, first)}, the first that allows ${need.method} from ${origin}, does not expose ${need.header}, so ${need.why}: add ${need.header} to its ExposeHeader${later ? " (a later rule exposes it, but COS applies only the first match)" : ""}`,
    });
  }
  return errorsFirst(problems);
}

/** Errors before warnings, each in the order found (Array.prototype.sort is stable). */
export function errorsFirst(problems: CorsProblem[]): CorsProblem[] {
  return [...problems].sort((a, b) => (a.severity === b.severity ? 0 : a.severity === "error" ? -1 : 1));
}
