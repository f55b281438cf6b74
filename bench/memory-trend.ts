/**
 * Whether memory stayed flat under a sustained load: the least-squares slope over the second half
 * of the run (the first half is warm-up: JIT, caches, pools and allocator arenas growing to their
 * working size), for RSS sampled every second and for the heap after a full collection.
 */
export interface MemoryVerdict {
  rssStartMb: number;
  rssEndMb: number;
  rssPeakMb: number;
  rssSlopeMbPerMinute: number;
  rssLimitMbPerMinute: number;
  /** null when the heap could not be sampled after collection (fewer than three samples). */
  heapSlopeMbPerMinute: number | null;
  heapLimitMbPerMinute: number;
  flat: boolean;
}

/**
 * RSS wanders by tens of MB as the allocator keeps freed pages; a real leak of 1 kB per request at
 * a few hundred requests a second grows the heap by over 10 MB a minute, so the heap's limit is the
 * sharp one and RSS only catches what lives outside it (buffers, native memory).
 */
const RSS_LIMIT_MB_PER_MINUTE = 60;
const HEAP_LIMIT_MB_PER_MINUTE = 10;

/** Slope per sample of `values` by least squares. */
function slope(values: number[]): number {
  const n = values.length;
  if (n < 2) return 0;
  const meanX = (n - 1) / 2;
  const meanY = values.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  values.forEach((y, x) => {
    num += (x - meanX) * (y - meanY);
    den += (x - meanX) ** 2;
  });
  return num / den;
}

/** `rss`: MB once a second; `heapAfterGc`: MB every `heapEverySeconds`. */
export function judgeMemory(rss: number[], heapAfterGc: number[], heapEverySeconds = 5): MemoryVerdict {
  const secondHalf = rss.slice(Math.floor(rss.length / 2));
  const rssSlope = slope(secondHalf) * 60;
  const heapHalf = heapAfterGc.slice(Math.floor(heapAfterGc.length / 2));
  const heapSlope = heapHalf.length >= 3 ? (slope(heapHalf) * 60) / heapEverySeconds : null;
  return {
    rssStartMb: rss[0] ?? 0,
    rssEndMb: rss.at(-1) ?? 0,
    rssPeakMb: Math.max(0, ...rss),
    rssSlopeMbPerMinute: rssSlope,
    rssLimitMbPerMinute: RSS_LIMIT_MB_PER_MINUTE,
    heapSlopeMbPerMinute: heapSlope,
    heapLimitMbPerMinute: HEAP_LIMIT_MB_PER_MINUTE,
    flat: rssSlope < RSS_LIMIT_MB_PER_MINUTE && (heapSlope === null || heapSlope < HEAP_LIMIT_MB_PER_MINUTE),
  };
}
