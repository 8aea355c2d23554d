// Formatting shared by the demo page (demo/main.ts) and its server's /form page (scripts/demo-server.ts).

/** Bytes as a person reads them (1 KB = 1024 bytes, as the benchmarks count). */
export function formatBytes(n: number): string {
  const units = ["bytes", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${n} ${units[0]}` : `${n.toFixed(n < 10 ? 1 : 0)} ${units[i]}`;
}
