// Worker thread of measureThreads (bench/lib/rate.ts): loads the task module,
// builds the op, says ready, waits for "go", loops for the time box and
// reports how many operations it completed.

import { parentPort, workerData } from 'node:worker_threads';
import { measureSync, type TaskFactory, type WorkerReply, type WorkerRequest } from './rate.ts';

const port = parentPort;
if (!port) throw new Error('rate-worker.ts must run as a worker thread');
const request = workerData as WorkerRequest;
const reply = (msg: WorkerReply): void => port.postMessage(msg);

try {
  const mod = (await import(request.module)) as { tasks?: Record<string, TaskFactory> };
  const factory = mod.tasks?.[request.name];
  if (!factory) throw new Error(`no task '${request.name}' in ${request.module}`);
  const op = factory();
  port.once('message', () => {
    try {
      const r = measureSync(op, request.durationMs);
      reply({ type: 'done', ops: r.ops, seconds: r.seconds });
    } catch (err) {
      reply({ type: 'error', message: err instanceof Error ? err.message : String(err) });
    }
  });
  reply({ type: 'ready' });
} catch (err) {
  reply({ type: 'error', message: err instanceof Error ? err.message : String(err) });
}
