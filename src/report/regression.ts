/**
 * Simple linear regression (ordinary least squares, closed form) and a reproducible train/test
 * split for the reports.
 *
 * The split is a pure function of a row's id and the seed: row `id` is in the training set when
 * `splitHash(seed + ":" + id) / 2^32 < trainShare`. Anyone can recompute it (a test, a notebook),
 * and a row keeps its side when other rows come and go.
 */

/** 32-bit FNV-1a of the UTF-16 code units of `text`, then murmur3's finalizer to spread the bits. */
export function splitHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Is row `id` in the training set for `seed`? */
export function isTrainRow(id: string, seed: number, trainShare = 0.7): boolean {
  return splitHash(`${seed}:${id}`) / 4294967296 < trainShare;
}

export interface LinearFit {
  intercept: number;
  slope: number;
  /** Rows it was fitted on. */
  n: number;
}

/**
 * y = intercept + slope * x by least squares, from centered sums (numerically steadier than the
 * raw normal equations): slope = Σ(x - x̄)(y - ȳ) / Σ(x - x̄)², intercept = ȳ - slope · x̄.
 */
export function fitLine(xs: ArrayLike<number>, ys: ArrayLike<number>): LinearFit {
  const n = xs.length;
  if (n < 2) throw new Error(`a linear fit needs at least 2 rows, got ${n}`);
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += xs[i];
    my += ys[i];
  }
  mx /= n;
  my /= n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i] - mx;
    sxx += dx * dx;
    sxy += dx * (ys[i] - my);
  }
  if (sxx === 0) throw new Error("a linear fit needs at least two different x values");
  const slope = sxy / sxx;
  return { intercept: my - slope * mx, slope, n };
}

export interface FitScore {
  /** 1 - SS_res / SS_tot, SS_tot around the mean of these rows' y. */
  r2: number;
  /** sqrt(mean squared error). */
  rmse: number;
  n: number;
}

/** How well `fit` predicts these rows. */
export function score(fit: LinearFit, xs: ArrayLike<number>, ys: ArrayLike<number>): FitScore {
  const n = xs.length;
  if (n === 0) return { r2: NaN, rmse: NaN, n };
  let my = 0;
  for (let i = 0; i < n; i++) my += ys[i];
  my /= n;
  let ssRes = 0;
  let ssTot = 0;
  for (let i = 0; i < n; i++) {
    const e = ys[i] - (fit.intercept + fit.slope * xs[i]);
    ssRes += e * e;
    const d = ys[i] - my;
    ssTot += d * d;
  }
  return { r2: ssTot === 0 ? NaN : 1 - ssRes / ssTot, rmse: Math.sqrt(ssRes / n), n };
}
