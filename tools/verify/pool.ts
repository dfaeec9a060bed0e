/**
 * Runs `count` tasks with at most `concurrency` in flight. With `intervalMs`, task i starts no earlier
 * than i × interval (± a quarter interval of seeded jitter, so the pace cannot lock onto a token
 * bucket's refill timer). Results keep task order.
 */
export async function runPaced<T>(
  count: number,
  task: (i: number) => Promise<T>,
  {
    concurrency,
    intervalMs = 0,
    random = Math.random,
    sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms)),
    onDone = () => {},
    stop = () => false,
  }: {
    concurrency: number;
    intervalMs?: number;
    random?: () => number;
    sleep?: (ms: number) => Promise<void>;
    onDone?: (done: number, result: T) => void;
    /** Checked before each start: lets a check end early once it has seen enough. */
    stop?: () => boolean;
  },
): Promise<T[]> {
  const results: T[] = [];
  const started = performance.now();
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < count && !stop()) {
      const i = next++;
      if (intervalMs > 0) {
        const due = (i + (random() - 0.5) / 2) * intervalMs;
        const wait = due - (performance.now() - started);
        if (wait > 0) await sleep(wait);
      }
      const result = await task(i);
      results[i] = result;
      onDone(++done, result);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, worker));
  return results.filter((r) => r !== undefined);
}
