// The raw baseline of the browser benches, run inside the page (pass it to page.evaluate: it uses only
// its argument and the page's globals). The functions plan the upload and sign every part URL in one
// call, `concurrency` workers XHR PUT the parts, then complete: nothing else. `body` says what XHR is
// given for each part (bench/browser-part-bodies.ts compares them; the baseline is "slice").

export type PartBody = "slice" | "slice+read" | "slice+stream" | "read-then-send" | "blob-of-bytes" | "bytes";

export interface RawJob {
  endpoint: string;
  token: string;
  key: string;
  part: number;
  concurrency: number;
  body: PartBody;
}

/** Uploads window.benchBlob; returns the seconds from the first request to the end of complete. */
export async function rawUpload(job: RawJob): Promise<number> {
  const blob: Blob = (window as unknown as { benchBlob: Blob }).benchBlob;
  const api = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(job.endpoint + path, { method: "POST", headers: { authorization: `Bearer ${job.token}`, "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
    const json = await res.json();
    if (!res.ok) throw new Error(`POST ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  /** What XHR sends for `slice`, and a read to wait for after the PUT ("slice+read"). */
  const bodyOf = async (slice: Blob): Promise<{ body: XMLHttpRequestBodyInit; after?: Promise<unknown> }> => {
    switch (job.body) {
      case "slice":
        return { body: slice };
      case "slice+read":
        return { body: slice, after: slice.arrayBuffer() };
      case "slice+stream": {
        const drain = async () => {
          const reader = slice.stream().getReader();
          while (!(await reader.read()).done);
        };
        return { body: slice, after: drain() };
      }
      case "read-then-send":
        await slice.arrayBuffer();
        return { body: slice };
      case "blob-of-bytes":
        return { body: new Blob([await slice.arrayBuffer()]) };
      case "bytes":
        return { body: new Uint8Array(await slice.arrayBuffer()) };
    }
  };
  const started = performance.now();
  const plan = await api("/v1/uploads", { key: job.key, size: blob.size, partSize: job.part });
  const auth = { "upload-token": plan.token };
  const numbers = Array.from({ length: plan.partCount }, (_, i) => ({ partNumber: i + 1 }));
  const { parts } = await api(`/v1/uploads/${plan.uploadId}/parts`, { parts: numbers }, auth);
  const etags: { partNumber: number; etag: string }[] = [];
  let next = 0;
  const worker = async () => {
    while (next < parts.length) {
      const part = parts[next++];
      const start = (part.partNumber - 1) * plan.partSize;
      const { body, after } = await bodyOf(blob.slice(start, Math.min(blob.size, start + plan.partSize)));
      const etag = await new Promise<string>((resolve, reject) => {
        const xhr = new XMLHttpRequest();
        xhr.open("PUT", part.url);
        // content-length and host are the browser's to set.
        for (const [name, value] of Object.entries(part.headers as Record<string, string>)) if (!["content-length", "host"].includes(name.toLowerCase())) xhr.setRequestHeader(name, value);
        xhr.onload = () => (xhr.status === 200 ? resolve(xhr.getResponseHeader("ETag")!) : reject(new Error(`part ${part.partNumber}: ${xhr.status}`)));
        xhr.onerror = () => reject(new Error(`part ${part.partNumber}: network error`));
        xhr.send(body);
      });
      await after;
      etags.push({ partNumber: part.partNumber, etag });
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, worker));
  etags.sort((a, b) => a.partNumber - b.partNumber);
  const done = await api(`/v1/uploads/${plan.uploadId}/complete`, { parts: etags }, auth);
  if (done.size !== blob.size) throw new Error(`raw (${job.body}): complete says ${done.size}`);
  return (performance.now() - started) / 1000;
}
