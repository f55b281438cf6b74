/**
 * The hashing ceiling: argon2id verifications per second with the server's parameters, run in its
 * own process so that it can be pinned (taskset) to the cores a server gets and given the same
 * libuv threadpool size (UV_THREADPOOL_SIZE, set by the parent). Prints one JSON line.
 * Argument: JSON {memoryCost, timeCost, parallelism, seconds, concurrency}.
 */
import { hash, verify } from '@node-rs/argon2';

const { seconds, concurrency, ...params } = JSON.parse(process.argv[2] ?? '{}') as {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
  seconds: number;
  concurrency: number;
};
const password = 'correct horse battery staple';
const stored = await hash(password, { algorithm: 2, ...params });
// Warm the threadpool and allocator for a second, then count.
const until = async (end: number) => {
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        if (!(await verify(stored, password))) throw new Error('verification failed');
        done++;
      }
    }),
  );
  return done;
};
await until(performance.now() + Math.min(1000, seconds * 250));
const cpuBefore = process.cpuUsage();
const begin = performance.now();
const done = await until(begin + seconds * 1000);
const elapsed = (performance.now() - begin) / 1000;
const cpu = process.cpuUsage(cpuBefore);
process.stdout.write(
  `${JSON.stringify({ perSecond: done / elapsed, verifications: done, cpuMsPerVerify: (cpu.user + cpu.system) / 1000 / done })}\n`,
);
