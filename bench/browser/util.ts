/** What a browser benchmark reports. */
export interface BenchResult {
  name: string;
  figures: Record<string, number | string>;
  target: string;
  met: boolean;
}

export const median = (values: number[]): number => percentile(values, 50);

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Polls until `check` is true. */
export async function until(check: () => boolean, timeout = 30_000): Promise<void> {
  const start = performance.now();
  while (!check()) {
    if (performance.now() - start > timeout) throw new Error('benchmark timed out');
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}
