/**
 * Preloaded into a benchmark's worker (`node --import …/mem-sampler.mjs`) when BENCH_MEM_SAMPLE_FILE is set: samples
 * process.memoryUsage() and V8's heap statistics every BENCH_MEM_SAMPLE_MS (default 50 ms) and, at exit, writes the
 * peaks and the breakdown at the RSS peak as JSON to that file (the profile behind docs/benchmarks.md's worker RSS).
 * "native" is RSS minus V8's committed heap minus external memory: code, stacks, malloc'ed memory of better-sqlite3 / pg
 * / OpenSSL, the allocator's retained pages.
 */
import { writeFileSync } from 'node:fs';
import v8 from 'node:v8';
import { PerformanceObserver, constants } from 'node:perf_hooks';

const file = process.env.BENCH_MEM_SAMPLE_FILE;
if (file) {
  const every = Number(process.env.BENCH_MEM_SAMPLE_MS ?? 50);
  const MB = 1024 * 1024;
  const mb = (n) => Math.round((n / MB) * 10) / 10;
  const t0 = Date.now();
  // Time spent in garbage collection, by kind (scavenge, mark-sweep-compact, incremental, weak callbacks).
  const gc = { count: 0, ms: 0, major: 0, majorMs: 0 };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gc.count++;
      gc.ms += e.duration;
      if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) (gc.major++, (gc.majorMs += e.duration));
    }
  }).observe({ entryTypes: ['gc'] });
  const peaks = {};
  let atPeak;
  const series = [];
  const sample = () => {
    const m = process.memoryUsage();
    const h = v8.getHeapStatistics();
    const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, mb(s.space_size)]));
    const s = {
      t: Date.now() - t0,
      rss: mb(m.rss),
      heapTotal: mb(m.heapTotal),
      heapUsed: mb(m.heapUsed),
      external: mb(m.external),
      arrayBuffers: mb(m.arrayBuffers),
      physical: mb(h.total_physical_size),
      malloced: mb(h.malloced_memory),
      native: mb(m.rss - h.total_physical_size - m.external),
      spaces,
    };
    for (const k of ['rss', 'heapTotal', 'heapUsed', 'external', 'arrayBuffers', 'physical', 'malloced', 'native']) peaks[k] = Math.max(peaks[k] ?? 0, s[k]);
    if (!atPeak || s.rss >= atPeak.rss) atPeak = s;
    series.push([s.t, s.rss, s.heapTotal, s.heapUsed, s.external, s.native]);
  };
  sample();
  setInterval(sample, every).unref();
  process.on('exit', () => {
    sample();
    const cpu = process.cpuUsage();
    const cpuMs = Math.round((cpu.user + cpu.system) / 1000);
    writeFileSync(file, JSON.stringify({ peaks, atPeak, cpuMs, gc: { ...gc, ms: Math.round(gc.ms), majorMs: Math.round(gc.majorMs) }, columns: ['t', 'rss', 'heapTotal', 'heapUsed', 'external', 'native'], series }) + '\n');
  });
}
