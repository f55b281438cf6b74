import { readdirSync, readFileSync } from 'node:fs';

/**
 * What a server process costs, read from /proc (Linux): CPU per thread group and memory. The main
 * thread (tid = pid) runs JavaScript; libuv's threadpool ("libuv-worker") runs the argon2 hashes
 * (@node-rs/argon2 is an N-API async task) and other off-thread work; the rest is V8's own threads
 * (garbage collection, compilation).
 */
export interface CpuSample {
  mainMs: number;
  threadpoolMs: number;
  otherMs: number;
}

const TICK_MS = 10; // USER_HZ is 100 on Linux (getconf CLK_TCK)

function threadTicks(pid: number, tid: string): { comm: string; ms: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    // Fields 14 and 15 of stat (utime, stime) are at 11 and 12 once pid and comm are cut off.
    return { comm, ms: (Number(fields[11]) + Number(fields[12])) * TICK_MS };
  } catch {
    return undefined; // the thread ended between listing and reading
  }
}

export function sampleCpu(pid: number): CpuSample {
  const sample: CpuSample = { mainMs: 0, threadpoolMs: 0, otherMs: 0 };
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const thread = threadTicks(pid, tid);
    if (!thread) continue;
    if (tid === String(pid)) sample.mainMs += thread.ms;
    else if (thread.comm.startsWith('libuv-worker')) sample.threadpoolMs += thread.ms;
    else sample.otherMs += thread.ms;
  }
  return sample;
}

export const cpuBetween = (before: CpuSample, after: CpuSample): CpuSample => ({
  mainMs: after.mainMs - before.mainMs,
  threadpoolMs: after.threadpoolMs - before.threadpoolMs,
  otherMs: after.otherMs - before.otherMs,
});

/** Resident memory now and its high-water mark since the process started, in MiB. */
export function memory(pid: number): { rssMiB: number; peakMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024 };
}
