import v8 from 'node:v8';

/**
 * How far V8 lets the old generation grow past what was live at its last full collection before it collects again, in
 * percent (issue 17, list-memory). Left to itself, V8 picks a factor of up to 4× (300%) on a machine with a large heap
 * limit (this 24 GiB machine: 4 GiB): with ~60–100 MB live while list responses are in flight, the old generation then
 * filled with dead rows up to 156 MB used (209 MB committed) before a collection, and RSS peaked at 346–378 MB for 50
 * concurrent `pageSize=5000` reads (docs/benchmarks.md, list-memory). Every page read from the store is a few MB of row
 * strings that live for as long as the page takes to stream, long enough to be promoted, so the old generation is
 * mostly dead rows; 1.5× collects them sooner for the cost of more frequent full collections of a small heap.
 */
export const HEAP_GROWING_PERCENT = 50;

/**
 * The V8 flag that sets the growth (`--heap-growing-percent=50`), or undefined when the operator already chose one on
 * the command line or in NODE_OPTIONS (theirs wins).
 */
export function heapGrowthFlag(execArgv: readonly string[], nodeOptions: string | undefined): string | undefined {
  const set = (arg: string) => /^--heap[-_]growing[-_]percent(=|$)/.test(arg);
  if (execArgv.some(set) || (nodeOptions ?? '').split(/\s+/).some(set)) return undefined;
  return `--heap-growing-percent=${HEAP_GROWING_PERCENT}`;
}

/**
 * Applies heapGrowthFlag to this process. V8 reads the flag each time it sets the next collection's limit, so setting
 * it at start (before the heap has grown) takes effect; measured with list-memory, not assumed.
 */
export function limitHeapGrowth(): void {
  const flag = heapGrowthFlag(process.execArgv, process.env.NODE_OPTIONS);
  if (flag) v8.setFlagsFromString(flag);
}
