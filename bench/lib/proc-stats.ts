// Resource figures of another process for benchmarks, read from Linux /proc:
// resident memory (VmRSS), CPU time of the whole process, and CPU time per
// thread grouped by thread name (the main thread, libuv's pool, V8's
// helpers), so a benchmark can show where a child process spends its time.
// Also a least-squares slope for memory samples (soak tests).

import { readdirSync, readFileSync } from 'node:fs';

/** Kernel clock ticks per second for /proc/<pid>/stat times (USER_HZ; 100 on every Linux we run on). */
const TICKS_PER_SECOND = 100;

/** VmRSS of a process in bytes, or null when it is gone or /proc is unavailable. */
export function readRssBytes(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** utime + stime in seconds from a /proc/.../stat line (the comm field may hold spaces and parentheses). */
function statCpuSeconds(stat: string): { comm: string; seconds: number } {
  const open = stat.indexOf('(');
  const close = stat.lastIndexOf(')');
  const comm = stat.slice(open + 1, close);
  const rest = stat.slice(close + 2).split(' ');
  // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
  const ticks = Number(rest[11]) + Number(rest[12]);
  return { comm, seconds: ticks / TICKS_PER_SECOND };
}

/** Per thread group: CPU seconds used and seconds spent runnable but waiting for a CPU (run queue). */
export interface ThreadTimes {
  cpu: number;
  wait: number;
}
/** Thread group ('main' for the process's own thread, else the thread's name) -> times. */
export type ThreadCpu = Map<string, ThreadTimes>;

/** From /proc/<pid>/task/<tid>/schedstat (ns on CPU, ns waiting on a run queue), or stat ticks when schedstat is missing. */
function threadTimes(pid: number, tid: string): { comm: string; times: ThreadTimes } {
  const { comm, seconds } = statCpuSeconds(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'));
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(' ').map(Number);
    if (Number.isFinite(run) && Number.isFinite(wait)) return { comm, times: { cpu: run! / 1e9, wait: wait! / 1e9 } };
  } catch {
    // no schedstat (kernel without CONFIG_SCHED_INFO)
  }
  return { comm, times: { cpu: seconds, wait: Number.NaN } };
}

export function readThreadCpu(pid: number): ThreadCpu {
  const out: ThreadCpu = new Map();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const { comm, times } = threadTimes(pid, tid);
      const group = tid === String(pid) ? 'main' : comm.trim();
      const sum = out.get(group) ?? { cpu: 0, wait: 0 };
      out.set(group, { cpu: sum.cpu + times.cpu, wait: sum.wait + times.wait });
    } catch {
      // The thread ended between readdir and read.
    }
  }
  return out;
}

/** after - before, per group (groups only in `after` count from zero; threads that ended are lost). */
export function threadCpuDelta(before: ThreadCpu, after: ThreadCpu): ThreadCpu {
  const out: ThreadCpu = new Map();
  for (const [group, t] of after) {
    const b = before.get(group) ?? { cpu: 0, wait: 0 };
    out.set(group, { cpu: t.cpu - b.cpu, wait: t.wait - b.wait });
  }
  return out;
}

/** CPU seconds the whole machine has been busy (every state but idle and iowait) and in total, summed over cores, from /proc/stat. */
export function readMachineCpu(): { busy: number; total: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    // cpu user nice system idle iowait irq softirq steal guest guest_nice (guest time is already in user)
    const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    const idle = f[3]! + f[4]!;
    return { busy: (total - idle) / TICKS_PER_SECOND, total: total / TICKS_PER_SECOND };
  } catch {
    return null;
  }
}

/** Least-squares slope of y over x (units of y per unit of x); 0 for fewer than two points. */
export function slope(points: readonly (readonly [number, number])[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** Names of the x86-64 system calls a Node event loop is usually found in; others print as their number. */
const X64_SYSCALLS: Record<number, string> = {
  0: 'read', 1: 'write', 7: 'poll', 17: 'pread64', 18: 'pwrite64', 20: 'writev', 74: 'fsync', 75: 'fdatasync',
  202: 'futex', 232: 'epoll_wait', 281: 'epoll_pwait', 441: 'epoll_pwait2', 44: 'sendto', 45: 'recvfrom', 46: 'sendmsg', 47: 'recvmsg',
};

/**
 * What one thread is doing right now, from /proc/<pid>/task/<tid>/syscall:
 * 'running' (on a CPU or runnable), the system call it is blocked in
 * (e.g. 'fsync', 'epoll_wait'), or null when the thread is gone or the file
 * cannot be read (it needs ptrace access to the process).
 */
export function threadActivity(pid: number, tid = pid): string | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/task/${tid}/syscall`, 'utf8').trim();
  } catch {
    return null;
  }
  if (text === 'running') return 'running';
  const nr = Number(text.split(' ')[0]);
  if (!Number.isInteger(nr)) return null;
  if (nr < 0) return 'blocked outside a syscall';
  return (process.arch === 'x64' ? X64_SYSCALLS[nr] : undefined) ?? `syscall ${nr}`;
}

/** Samples threadActivity every `everyMs` until stopped; returns how many samples found each activity. */
export function sampleActivity(pid: number, everyMs: number, tid = pid): { stop(): Map<string, number> } {
  const counts = new Map<string, number>();
  const timer = setInterval(() => {
    const a = threadActivity(pid, tid);
    if (a !== null) counts.set(a, (counts.get(a) ?? 0) + 1);
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return counts;
    },
  };
}
