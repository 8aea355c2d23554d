// Unit tests of the grant rules: subjects map to prefixes one-to-one, and content-type patterns.
import * as fc from "fast-check";
import { describe, expect, it } from "vitest";
import { contentTypeAllowed, subjectSegment } from "../../functions/policy/grant";
import { checkKey } from "../../functions/policy/key";

describe("subjectSegment", () => {
  it("gives different subjects different segments, each a valid single key segment", () => {
    expect(subjectSegment("a/b")).not.toBe(subjectSegment("a_b"));
    expect(subjectSegment("..")).toBe("_2E_2E");
    expect(subjectSegment("auth0|user@example.com")).toBe("auth0_7Cuser@example.com");
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 }), fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 }), (a, b) => {
        const [sa, sb] = [subjectSegment(a), subjectSegment(b)];
        expect(sa === sb).toBe(a === b);
        expect(() => checkKey(`users/${sa}/x`)).not.toThrow();
      }),
      { numRuns: 500 },
    );
  });
});

describe("contentTypeAllowed", () => {
  it("matches exact types and type/* families, ignoring parameters and case", () => {
    const patterns = ["image/*", "application/pdf"];
    expect(contentTypeAllowed(patterns, "image/png")).toBe(true);
    expect(contentTypeAllowed(patterns, "Application/PDF; charset=binary")).toBe(true);
    expect(contentTypeAllowed(patterns, "image/")).toBe(false);
    expect(contentTypeAllowed(patterns, "imagex/png")).toBe(false);
    expect(contentTypeAllowed(patterns, "application/pdfx")).toBe(false);
    expect(contentTypeAllowed([], "anything/at-all")).toBe(true);
  });
});
