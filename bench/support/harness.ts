/**
 * Benchmark harness: every benchmark measures its figure and a baseline in the same run and reports their ratio.
 * Benchmarks are never timed tests; CI may run them at a tiny size (`BENCH_SIZE=smoke`) to keep them working.
 */
export interface BenchRow {
  /** What was measured, e.g. "queue wait p50 (PostgreSQL, LISTEN/NOTIFY)". */
  metric: string;
  value: number;
  unit: string;
  /** The baseline measured in the same run, and what it is. */
  baseline?: { label: string; value: number };
  note?: string;
}

export interface BenchContext {
  size: 'smoke' | 'full';
  log: (msg: string) => void;
  /** Admin URL of a throwaway PostgreSQL server started for the run. */
  pgAdminUrl: () => Promise<string>;
}

export interface Benchmark {
  name: string;
  description: string;
  run(ctx: BenchContext): Promise<BenchRow[]>;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const idx = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[idx]!;
}

export function formatRows(name: string, rows: BenchRow[]): string {
  const lines = [`\n## ${name}\n`, '| metric | value | baseline | ratio |', '|---|---|---|---|'];
  for (const r of rows) {
    const v = `${round(r.value)} ${r.unit}`;
    const b = r.baseline ? `${round(r.baseline.value)} ${r.unit} (${r.baseline.label})` : '–';
    const ratio = r.baseline && r.baseline.value !== 0 ? `${Number((r.value / r.baseline.value).toPrecision(3))}×` : '–';
    lines.push(`| ${r.metric}${r.note ? ` (${r.note})` : ''} | ${v} | ${b} | ${ratio} |`);
  }
  return lines.join('\n');
}

const round = (n: number) => (Math.abs(n) >= 100 ? Math.round(n) : Math.round(n * 100) / 100);
