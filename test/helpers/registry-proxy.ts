import {
  createServer,
  request,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  method: string;
  /** Without the query. */
  path: string;
  at: number;
  status: number;
  /** The Authorization header it came with, if any. */
  authorization?: string;
}

type Match = (method: string, path: string) => boolean;

/** A request held back until released: the client waits, mid-push. */
export interface Hold {
  /** Resolves once a matching request came in. */
  arrived: Promise<void>;
  release(): void;
}

/**
 * An HTTP proxy on loopback in front of a registry (`127.0.0.1:5000` by default)
 * that answers 500 to the requests `failWhen` picks and holds back those a `hold`
 * matches; everything else goes through unchanged (Host included, so upload URLs
 * the registry hands out lead back through the proxy).
 */
export class RegistryProxy {
  readonly requests: SeenRequest[] = [];
  failWhen: Match = () => false;
  /** When set, the Location headers the registry answers point at this host instead (an upload elsewhere). */
  relocateTo?: string;
  private readonly holds: { match: Match; hold: Hold; released: Promise<void> }[] = [];
  private server?: Server;
  /** `127.0.0.1:port`, a registry name for image references. */
  host = '';

  constructor(private readonly upstream = process.env.TEST_REGISTRY ?? '127.0.0.1:5000') {}

  async start(listenHost = '127.0.0.1'): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, listenHost, r));
    this.host = `${listenHost}:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const h of this.holds) h.hold.release();
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }

  /** Holds the first request `match` picks until `release()`. */
  hold(match: Match): Hold {
    let arrive!: () => void;
    let release!: () => void;
    const hold: Hold = {
      arrived: new Promise((r) => (arrive = r)),
      release: () => release(),
    };
    const released = new Promise<void>((r) => (release = r));
    this.holds.push({
      match: (method, path) => {
        if (!match(method, path)) return false;
        arrive();
        return true;
      },
      hold,
      released,
    });
    return hold;
  }

  /** Requests seen so far that `match` picks. */
  seen(match: Match): SeenRequest[] {
    return this.requests.filter((r) => match(r.method, r.path));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?')[0];
    const seen: SeenRequest = {
      method,
      path,
      at: Date.now(),
      status: 0,
      authorization: req.headers.authorization,
    };
    this.requests.push(seen);
    const held = this.holds.findIndex((h) => h.match(method, path));
    if (held >= 0) {
      const [{ released }] = this.holds.splice(held, 1);
      await released;
    }
    if (this.failWhen(method, path)) {
      seen.status = 500;
      req.resume();
      const body = JSON.stringify({
        errors: [{ code: 'UNKNOWN', message: 'unknown error', detail: 'injected by the test' }],
      });
      res.writeHead(500, { 'content-type': 'application/json' }).end(body);
      return;
    }
    const [hostname, port] = this.upstream.split(':');
    const out = request(
      { hostname, port: Number(port), method, path: req.url, headers: req.headers },
      (answer) => {
        seen.status = answer.statusCode ?? 0;
        const { location } = answer.headers;
        if (this.relocateTo && location) {
          const moved = new URL(location, `http://${this.host}`);
          moved.host = this.relocateTo;
          answer.headers.location = moved.href;
        }
        res.writeHead(seen.status, answer.headers);
        answer.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    req.pipe(out);
  }
}
