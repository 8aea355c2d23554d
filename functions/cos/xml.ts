// COS XML bodies in and out (fast-xml-parser). Every value stays a string: upload ids, ETags
// and `IsTruncated` are compared as text, the way the SDKs do (cos-protocol.md §8 "Booleans").

import { XMLBuilder, XMLParser } from "fast-xml-parser";

/** Elements that COS may repeat; they always parse to arrays, even with one entry. */
const REPEATED = new Set(["Part", "Upload", "CommonPrefixes", "Contents", "CORSRule", "AllowedOrigin", "AllowedMethod", "AllowedHeader", "ExposeHeader"]);

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: true,
  processEntities: true,
  // Numeric character references (&#34;) too, not only the five named ones: an ETag written
  // `&#34;…&#34;` is the same ETag as `&quot;…&quot;`.
  htmlEntities: true,
  isArray: (name) => REPEATED.has(name),
});

const builder = new XMLBuilder({ ignoreAttributes: true, suppressEmptyNode: false, processEntities: true });

export type XmlNode = { [name: string]: XmlValue };
export type XmlValue = string | XmlNode | XmlValue[];

/** Parses an XML document; returns its root element's name and content. Throws on malformed XML. */
export function parseXml(text: string): { root: string; body: XmlNode } {
  const doc = parser.parse(text, true) as XmlNode;
  const root = Object.keys(doc).find((name) => name !== "?xml");
  if (!root) throw new Error("XML document has no root element");
  const body = doc[root];
  return { root, body: typeof body === "object" && !Array.isArray(body) ? body : {} };
}

/** Serialises `{ Root: { ... } }` to XML text (no declaration), escaping text content. */
export function buildXml(doc: Record<string, unknown>): string {
  return builder.build(doc) as string;
}

/** Reads a child element as text ("" when absent). */
export function text(node: XmlNode | undefined, name: string): string {
  const value = node?.[name];
  return typeof value === "string" ? value : "";
}

/** Reads a repeated child element as a list of nodes. */
export function list(node: XmlNode | undefined, name: string): XmlNode[] {
  const value = node?.[name];
  if (value === undefined || value === "") return [];
  const items = Array.isArray(value) ? value : [value];
  return items.filter((item): item is XmlNode => typeof item === "object" && !Array.isArray(item));
}
