/** Open log streams per client: a few tabs are fine, hundreds of connections are not. */
export const STREAMS_PER_CLIENT = 4;

/** Counts what each client holds open; `take` gives a release, or undefined at the limit. */
export class StreamSlots {
  private readonly open = new Map<string, number>();

  constructor(private readonly max = STREAMS_PER_CLIENT) {}

  take(client: string): (() => void) | undefined {
    const n = this.open.get(client) ?? 0;
    if (n >= this.max) return undefined;
    this.open.set(client, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(client) ?? 1) - 1;
      if (left > 0) this.open.set(client, left);
      else this.open.delete(client);
    };
  }
}
