/**
 * `work`'s result, or `fallback` once `ms` have passed (or when it fails). What was
 * started is not cancelled: a Redis command keeps waiting in the client's queue.
 */
export function withDeadline<T>(work: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => {
    // After the timer, one more turn of the event loop: an answer that came while
    // the process was busy is read before the work counts as late.
    timer = setTimeout(() => setImmediate(() => resolve(fallback)), ms);
    timer.unref();
  });
  const settled = work.catch(() => fallback);
  return Promise.race([settled, late]).finally(() => clearTimeout(timer));
}
