// Polling for a condition in tests, with a deadline that names what was awaited.

/** Resolves when `condition` holds (polled every 2 ms), or rejects after `ms`. */
export function until(condition: () => boolean, what = "condition", ms = 5000): Promise<void> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (condition()) return resolve();
      if (Date.now() - started > ms) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(poll, 2);
    };
    poll();
  });
}
