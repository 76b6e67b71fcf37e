// Group commit: operations submitted while a transaction is running (or in the
// same event-loop turn) are queued and run together as the next transaction,
// so one durable commit (one fsync) serves many requests. One transaction at a
// time per committer: this is also what serializes decisions in a process.

export type BatchRunner<Op, R> = (ops: readonly Op[]) => Promise<readonly R[]> | readonly R[];

interface Pending<Op, R> {
  op: Op;
  resolve: (r: R) => void;
  reject: (err: unknown) => void;
}

export interface GroupCommitStats {
  batches: number;
  ops: number;
  largestBatch: number;
}

export class GroupCommitter<Op, R> {
  readonly #run: BatchRunner<Op, R>;
  readonly #maxBatch: number;
  #queue: Pending<Op, R>[] = [];
  #scheduled = false;
  #running: Promise<void> | null = null;
  #closed: Error | null = null;
  readonly stats: GroupCommitStats = { batches: 0, ops: 0, largestBatch: 0 };

  constructor(run: BatchRunner<Op, R>, options: { maxBatch?: number } = {}) {
    this.#run = run;
    this.#maxBatch = options.maxBatch ?? 1024;
  }

  submit(op: Op): Promise<R> {
    if (this.#closed) return Promise.reject(this.#closed);
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ op, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#running || this.#queue.length === 0) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#running = this.#flush().finally(() => {
        this.#running = null;
        this.#schedule();
      });
    });
  }

  async #flush(): Promise<void> {
    const batch = this.#queue.splice(0, this.#maxBatch);
    if (batch.length === 0) return;
    this.stats.batches++;
    this.stats.ops += batch.length;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, batch.length);
    try {
      const results = await this.#run(batch.map((p) => p.op));
      batch.forEach((p, i) => p.resolve(results[i] as R));
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }

  /** Rejects new work with `reason`, lets queued and running work finish. */
  async close(reason: Error): Promise<void> {
    this.#closed ??= reason;
    while (this.#running || this.#scheduled || this.#queue.length > 0) {
      if (this.#running) await this.#running;
      else await new Promise((r) => setImmediate(r));
    }
  }
}
