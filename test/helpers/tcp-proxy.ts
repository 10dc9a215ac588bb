import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/** How long to hold a chunk, given how long ago its connection was opened. */
export type Latency = (connectionAgeMs: number) => number;

/**
 * A TCP proxy on loopback in front of `targetPort` that delays every chunk in
 * each direction by `latency` (order kept): a slow link, not a slow server.
 */
export class TcpProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  latency: Latency = () => 0;
  /** Connections accepted so far. */
  connections = 0;
  port = 0;

  constructor(private readonly targetPort: number) {}

  /** Every chunk delayed by `ms` from now on. */
  setLatency(latency: number | Latency): void {
    this.latency = typeof latency === 'number' ? () => latency : latency;
  }

  async start(): Promise<this> {
    this.server = createServer((client) => this.accept(client));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server?.close(r));
  }

  private accept(client: Socket): void {
    this.connections++;
    const openedAt = Date.now();
    const upstream = createConnection({ host: '127.0.0.1', port: this.targetPort });
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => undefined);
    }
    this.pipe(client, upstream, openedAt);
    this.pipe(upstream, client, openedAt);
  }

  /** Forwards `from` → `to`, each chunk after its delay and never before the one ahead of it. */
  private pipe(from: Socket, to: Socket, openedAt: number): void {
    let ready = Promise.resolve();
    const later = (action: () => void) => {
      const due = Date.now() + this.latency(Date.now() - openedAt);
      ready = ready.then(
        () => new Promise<void>((r) => setTimeout(r, Math.max(0, due - Date.now()))),
      );
      void ready.then(action);
    };
    from.on('data', (chunk: Buffer) => later(() => to.writable && to.write(chunk)));
    from.on('end', () => later(() => to.end()));
    from.on('close', (hadError) => hadError && later(() => to.destroy()));
  }
}
