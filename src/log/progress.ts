// A one-line progress bar for long operations, drawn on a terminal only
// (stderr by default): nothing is written when the stream is not a TTY, so
// logs and pipes stay clean. Redraws at most ten times a second.

export interface ProgressBar {
  update(done: number): void;
  /** Draws the final state and ends the line. */
  finish(): void;
}

export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

export function createProgressBar(label: string, total: number, stream: ProgressStream = process.stderr): ProgressBar {
  if (!stream.isTTY || total <= 0) return { update: () => {}, finish: () => {} };
  const started = performance.now();
  let last = 0;
  let drawn = -1;
  const draw = (done: number): void => {
    const width = Math.max(10, Math.min(40, (stream.columns ?? 80) - label.length - 40));
    const frac = Math.min(1, done / total);
    const filled = Math.round(frac * width);
    const secs = (performance.now() - started) / 1000;
    const rate = secs > 0 ? done / secs : 0;
    stream.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${rate.toFixed(1)}/s`);
    drawn = done;
  };
  return {
    update(done: number): void {
      const now = performance.now();
      if (done >= total || now - last >= 100) {
        last = now;
        draw(done);
      }
    },
    finish(): void {
      if (drawn !== total) draw(total);
      stream.write('\n');
    },
  };
}
