/**
 * Group commit for one kind of statement: calls that arrive while a batch is in flight go together in the next one,
 * and calls made in the same turn of the event loop go together, so N callers finishing at the same moment cost one
 * round trip instead of N. Nothing waits on a timer: a call made when nothing is in flight goes at the end of the
 * current turn (graphile-worker's completeJobBatchDelay, without the delay). `run` gets the inputs in call order and returns one output per input, in the same order; when it throws,
 * every call of that batch rejects with the error.
 */
export class Coalescer<In, Out> {
  private queue: { input: In; resolve: (o: Out) => void; reject: (e: unknown) => void }[] = [];
  private busy = false;

  constructor(
    private readonly run: (inputs: In[]) => Promise<Out[]>,
    private readonly maxBatch = 100,
  ) {}

  submit(input: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      if (!this.busy) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.busy = true;
    try {
      // Calls made in this turn of the event loop (callers woken by the same I/O) join the first batch.
      await new Promise<void>((r) => setImmediate(r));
      while (this.queue.length) {
        const batch = this.queue.splice(0, this.maxBatch);
        try {
          const out = await this.run(batch.map((b) => b.input));
          batch.forEach((b, i) => b.resolve(out[i] as Out));
        } catch (err) {
          for (const b of batch) b.reject(err);
        }
      }
    } finally {
      this.busy = false;
    }
  }
}
