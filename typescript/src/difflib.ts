/**
 * Close matches for a misspelt name: a port of Python's `difflib.get_close_matches` (and the parts
 * of `SequenceMatcher` it uses), so that both runtimes suggest the same names in the same order.
 * Strings are compared by code point, as Python compares them.
 */

type Seq = readonly string[];

interface Match {
  readonly i: number;
  readonly j: number;
  readonly size: number;
}

/** `SequenceMatcher` without junk (`isjunk=None`), with its `autojunk` heuristic. */
class SequenceMatcher {
  private a: Seq = [];
  private readonly b: Seq;
  private readonly b2j = new Map<string, number[]>();
  private fullBCount: Map<string, number> | undefined;

  constructor(b: Seq) {
    this.b = b;
    for (let j = 0; j < b.length; j++) {
      const element = b[j] as string;
      let indices = this.b2j.get(element);
      if (indices === undefined) {
        indices = [];
        this.b2j.set(element, indices);
      }
      indices.push(j);
    }
    // Python's autojunk: in a long second sequence, elements found in over 1% of it are popular
    // and left out of the index (they are not junk: a match may still extend over them).
    if (b.length >= 200) {
      const limit = Math.floor(b.length / 100) + 1;
      for (const [element, indices] of [...this.b2j]) {
        if (indices.length > limit) {
          this.b2j.delete(element);
        }
      }
    }
  }

  setA(a: Seq): void {
    this.a = a;
  }

  realQuickRatio(): number {
    return ratio(Math.min(this.a.length, this.b.length), this.a.length + this.b.length);
  }

  quickRatio(): number {
    if (this.fullBCount === undefined) {
      this.fullBCount = new Map();
      for (const element of this.b) {
        this.fullBCount.set(element, (this.fullBCount.get(element) ?? 0) + 1);
      }
    }
    const available = new Map<string, number>();
    let matches = 0;
    for (const element of this.a) {
      const count = available.has(element) ? (available.get(element) as number) : this.fullBCount.get(element) ?? 0;
      available.set(element, count - 1);
      if (count > 0) {
        matches += 1;
      }
    }
    return ratio(matches, this.a.length + this.b.length);
  }

  ratio(): number {
    let matches = 0;
    for (const block of this.matchingBlocks()) {
      matches += block.size;
    }
    return ratio(matches, this.a.length + this.b.length);
  }

  private matchingBlocks(): Match[] {
    const queue: [number, number, number, number][] = [[0, this.a.length, 0, this.b.length]];
    const blocks: Match[] = [];
    while (queue.length > 0) {
      const [alo, ahi, blo, bhi] = queue.pop() as [number, number, number, number];
      const match = this.longestMatch(alo, ahi, blo, bhi);
      if (match.size > 0) {
        blocks.push(match);
        if (alo < match.i && blo < match.j) {
          queue.push([alo, match.i, blo, match.j]);
        }
        if (match.i + match.size < ahi && match.j + match.size < bhi) {
          queue.push([match.i + match.size, ahi, match.j + match.size, bhi]);
        }
      }
    }
    return blocks;
  }

  private longestMatch(alo: number, ahi: number, blo: number, bhi: number): Match {
    const { a, b } = this;
    let besti = alo;
    let bestj = blo;
    let bestsize = 0;
    let j2len = new Map<number, number>();
    for (let i = alo; i < ahi; i++) {
      const next = new Map<number, number>();
      for (const j of this.b2j.get(a[i] as string) ?? []) {
        if (j < blo) {
          continue;
        }
        if (j >= bhi) {
          break;
        }
        const k = (j2len.get(j - 1) ?? 0) + 1;
        next.set(j, k);
        if (k > bestsize) {
          besti = i - k + 1;
          bestj = j - k + 1;
          bestsize = k;
        }
      }
      j2len = next;
    }
    // Extend over popular elements the index left out, as Python does.
    while (besti > alo && bestj > blo && a[besti - 1] === b[bestj - 1]) {
      besti -= 1;
      bestj -= 1;
      bestsize += 1;
    }
    while (besti + bestsize < ahi && bestj + bestsize < bhi && a[besti + bestsize] === b[bestj + bestsize]) {
      bestsize += 1;
    }
    return { i: besti, j: bestj, size: bestsize };
  }
}

function ratio(matches: number, length: number): number {
  return length ? (2.0 * matches) / length : 1.0;
}

/** Compares strings by code point, as Python does (JavaScript's `<` compares UTF-16 units). */
export function compareCodePoints(x: string, y: string): number {
  const a = Array.from(x);
  const b = Array.from(y);
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const d = (a[i] as string).codePointAt(0)! - (b[i] as string).codePointAt(0)!;
    if (d !== 0) {
      return d;
    }
  }
  return a.length - b.length;
}

/**
 * The best `n` of `possibilities` whose similarity to `word` is at least `cutoff`, best first
 * (ties by the larger string first, as Python's `heapq.nlargest` orders them).
 */
export function getCloseMatches(word: string, possibilities: Iterable<string>, n = 3, cutoff = 0.6): string[] {
  const matcher = new SequenceMatcher(Array.from(word));
  const scored: [number, string][] = [];
  for (const candidate of possibilities) {
    matcher.setA(Array.from(candidate));
    if (matcher.realQuickRatio() >= cutoff && matcher.quickRatio() >= cutoff) {
      const score = matcher.ratio();
      if (score >= cutoff) {
        scored.push([score, candidate]);
      }
    }
  }
  scored.sort((x, y) => (y[0] - x[0]) || compareCodePoints(y[1], x[1]));
  return scored.slice(0, n).map(([, candidate]) => candidate);
}
