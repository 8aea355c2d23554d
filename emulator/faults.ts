// Faults on request and counters of served requests (issue 2 §3 "Faults on request"), for the
// client's reliability tests: "the next N requests matching this pattern fail this way", and
// "how many UploadPart bodies were accepted per (uploadId, partNumber)" so a test can assert that
// no part was uploaded twice. Driven by /_cos-local/ (routes/control.ts) or the startCosLocal handle.

import type { Query } from "./request";

export const FAULT_KINDS = ["reset", "500", "503", "delay", "expired", "complete-error-in-200", "slow", "drop-response", "denied"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultSpec {
  kind: FaultKind;
  /** How many matching requests fail (default 1). */
  count?: number;
  /** HTTP method, case-insensitive. */
  method?: string;
  /** Substring of the decoded request path (`/<bucket>/<key>` path style). */
  path?: string;
  /** Regular expression (source text) tested against the decoded request path. */
  pathRegex?: string;
  /** A query parameter that must be present (`partNumber`), or `name=value` (`partNumber=2`). */
  query?: string;
  /** COS operation name, e.g. `UploadPart`, `CompleteMultipartUpload`. */
  operation?: string;
  /** kind "delay": milliseconds to wait before handling the request normally. */
  delayMs?: number;
  /** kind "reset": bytes of the request body (or of a GET's response body) to pass before the socket is destroyed. */
  afterBytes?: number;
  /** kind "slow": throttle the body transfer to this many bits per second. */
  bitsPerSecond?: number;
  /**
   * Fire on this fraction (0-1) of the matching requests instead of every one, drawn from a PRNG
   * seeded with `seed` (default: the fault's id), so a soak run can be repeated. `count` still caps it.
   */
  probability?: number;
  seed?: number;
}

export interface ActiveFault extends FaultSpec {
  id: number;
  remaining: number;
  /** The next draw in [0, 1) for `probability` (mulberry32). */
  random?: () => number;
}

/** mulberry32: a small seeded PRNG, enough to spread faults over requests repeatably. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface RequestSummary {
  method: string;
  path: string;
  query: Query;
  operation: string;
}

export class Faults {
  private faults: ActiveFault[] = [];
  private nextId = 1;

  /** Arms a fault; throws a readable Error on a malformed spec. */
  add(spec: FaultSpec): ActiveFault {
    if (!FAULT_KINDS.includes(spec.kind)) throw new Error(`fault kind must be one of ${FAULT_KINDS.join(", ")}; got ${JSON.stringify(spec.kind)}`);
    const count = spec.count ?? 1;
    if (!Number.isInteger(count) || count < 1) throw new Error(`fault count must be a positive integer; got ${JSON.stringify(spec.count)}`);
    if (spec.pathRegex !== undefined) new RegExp(spec.pathRegex); // throws on a bad pattern now, not per request
    if (spec.probability !== undefined && !(spec.probability > 0 && spec.probability <= 1)) throw new Error(`fault probability must be in (0, 1]; got ${JSON.stringify(spec.probability)}`);
    const id = this.nextId++;
    const fault: ActiveFault = { ...spec, count, id, remaining: count, ...(spec.probability !== undefined ? { random: seeded(spec.seed ?? id) } : {}) };
    this.faults.push(fault);
    return fault;
  }

  clear(): void {
    this.faults = [];
  }

  list(): ActiveFault[] {
    return this.faults.map((f) => ({ ...f }));
  }

  /** The first armed fault matching the request, consumed once; undefined when none matches. */
  take(request: RequestSummary): ActiveFault | undefined {
    // A fault with a probability draws for every matching request; a miss lets the next fault try.
    const fault = this.faults.find((f) => matches(f, request) && (!f.random || f.random() < f.probability!));
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining === 0) this.faults = this.faults.filter((f) => f !== fault);
    return fault;
  }
}

function matches(fault: FaultSpec, request: RequestSummary): boolean {
  // An error inside a 200 only exists for Complete (§3.4), so that kind never fires elsewhere.
  if (fault.kind === "complete-error-in-200" && request.operation !== "CompleteMultipartUpload") return false;
  if (fault.method && fault.method.toUpperCase() !== request.method) return false;
  if (fault.operation && fault.operation !== request.operation) return false;
  if (fault.path !== undefined && !request.path.includes(fault.path)) return false;
  if (fault.pathRegex !== undefined && !new RegExp(fault.pathRegex).test(request.path)) return false;
  if (fault.query !== undefined) {
    const eq = fault.query.indexOf("=");
    if (eq < 0 ? !request.query.has(fault.query) : request.query.get(fault.query.slice(0, eq)) !== fault.query.slice(eq + 1)) return false;
  }
  return true;
}

export interface CountersSnapshot {
  /** Requests served, control requests excluded. */
  total: number;
  /** Requests per COS operation name (PutObject, UploadPart, ...), successful or not. */
  operations: Record<string, number>;
  /** UploadPart bodies accepted (answered 200), per uploadId and part number. */
  parts: Record<string, Record<string, number>>;
  /** Faults injected. */
  faults: number;
}

export class Counters {
  private state: CountersSnapshot = Counters.empty();

  private static empty(): CountersSnapshot {
    return { total: 0, operations: {}, parts: {}, faults: 0 };
  }

  request(operation: string): void {
    this.state.total += 1;
    this.state.operations[operation] = (this.state.operations[operation] ?? 0) + 1;
  }

  partAccepted(uploadId: string, partNumber: number): void {
    const parts = (this.state.parts[uploadId] ??= {});
    parts[partNumber] = (parts[partNumber] ?? 0) + 1;
  }

  faultInjected(): void {
    this.state.faults += 1;
  }

  snapshot(): CountersSnapshot {
    return structuredClone(this.state);
  }

  reset(): void {
    this.state = Counters.empty();
  }
}
