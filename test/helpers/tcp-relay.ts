import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface TcpRelay {
  /** The port it listens on, at the host it was given. */
  port: number;
  close(): Promise<void>;
}

/**
 * Listens on `host` (port chosen by the system) and relays each connection to
 * 127.0.0.1:`targetPort`, so a server bound to loopback (the GitHub stand-in, the
 * git server) can be reached from containers at the docker bridge's address.
 */
export async function startTcpRelay(host: string, targetPort: number): Promise<TcpRelay> {
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  };
  const server: Server = createServer((inbound) => {
    track(inbound);
    const outbound = createConnection({ host: '127.0.0.1', port: targetPort });
    track(outbound);
    inbound.pipe(outbound).pipe(inbound);
    inbound.on('error', () => outbound.destroy());
    outbound.on('error', () => inbound.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
