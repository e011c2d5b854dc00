// "Did you mean" for misspelled keys and enum values: the closest candidate by
// optimal-string-alignment distance (Levenshtein plus adjacent transpositions, the typo a hand makes).

/** The largest distance suggest() accepts: more edits than this is another word, not a typo. */
export const MAX_SUGGEST_DISTANCE = 3;

/**
 * Optimal-string-alignment distance of `a` and `b`, or `cutoff + 1` when it is more than `cutoff`.
 * Rows run over the shorter string (O(min(m, n)) memory); with a cutoff only the band of cells within
 * `cutoff` of the diagonal is computed and the search stops once a whole row is past it, so a 2 MB
 * value against a 4-letter candidate costs O(1), not a 2M x 5 table.
 */
export function editDistance(a: string, b: string, cutoff = Infinity): number {
  if (a.length > b.length) [a, b] = [b, a];
  const m = a.length, n = b.length;
  if (n - m > cutoff) return cutoff + 1; // every alignment needs at least n - m insertions
  let prev2 = new Float64Array(m + 1);
  let prev = Float64Array.from({ length: m + 1 }, (_, j) => j);
  let cur = new Float64Array(m + 1);
  for (let i = 1; i <= n; i++) {
    // Cells outside the band are more than cutoff by construction; the band's edges read them as Infinity.
    const lo = Math.max(1, i - cutoff), hi = Math.min(m, i + cutoff);
    cur[0] = i;
    if (lo > 1) cur[lo - 1] = Infinity;
    let rowMin = lo > 1 ? Infinity : i;
    for (let j = lo; j <= hi; j++) {
      const cost = b[i - 1] === a[j - 1] ? 0 : 1;
      let v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && b[i - 1] === a[j - 2] && b[i - 2] === a[j - 1]) v = Math.min(v, prev2[j - 2]! + 1);
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (hi < m) cur[hi + 1] = Infinity;
    // No path leaves a row cheaper than its cheapest cell (a transposition from the row before costs 1 too).
    if (rowMin > cutoff) return cutoff + 1;
    const spare = prev2;
    prev2 = prev;
    prev = cur;
    cur = spare;
  }
  return Math.min(prev[m]!, cutoff + 1);
}

/**
 * The candidate nearest to `word`, if it is near enough to be a plausible typo: at most a third of
 * the word's length (minimum 1, maximum 3), compared case-insensitively. Ties go to the earlier candidate.
 * Words under 3 characters get no suggestion: every short word is one edit from another.
 */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  // Longer than every candidate by more than the largest distance: no candidate can be near (lower-casing
  // never shortens a string), and a 2 MB value is not even lower-cased.
  const longest = candidates.reduce((n, c) => Math.max(n, c.length), 0);
  if (word.length > longest + MAX_SUGGEST_DISTANCE) return undefined;
  const w = word.toLowerCase();
  if (w.length < 3) return undefined;
  const limit = Math.min(MAX_SUGGEST_DISTANCE, Math.max(1, Math.floor(w.length / 3)));
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    // Distances past the limit are all "too far": the cutoff keeps the nearest within it exact.
    const dist = editDistance(w, c.toLowerCase(), limit);
    if (dist < bestD) { best = c; bestD = dist; }
  }
  return bestD <= limit ? best : undefined;
}
