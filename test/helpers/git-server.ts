import { spawn, execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** Bare repositories served over HTTP by the real `git http-backend` (as CGI). */
export class GitServer {
  readonly root = mkdtempSync(join(tmpdir(), 'deployer-git-'));
  readonly authHeaders: (string | undefined)[] = [];
  private server?: Server;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise((r) => this.server?.close(r));
  }

  cloneUrl(owner: string, name: string): string {
    return `${this.url}/${owner}/${name}.git`;
  }

  /** A bare repo plus a work tree to commit from; returns helpers to commit and push. */
  createRepo(owner: string, name: string): GitRepo {
    const bare = join(this.root, owner, `${name}.git`);
    mkdirSync(dirname(bare), { recursive: true });
    git(['init', '-q', '--bare', bare]);
    git(['-C', bare, 'config', 'http.receivepack', 'true']);
    const work = mkdtempSync(join(tmpdir(), 'deployer-work-'));
    git(['init', '-q', '-b', 'main', work]);
    git(['-C', work, 'remote', 'add', 'origin', bare]);
    return new GitRepo(work);
  }

  private handle(req: IncomingMessage, res: import('node:http').ServerResponse): void {
    this.authHeaders.push(req.headers.authorization);
    const url = new URL(req.url ?? '/', this.url);
    const child = spawn('git', ['http-backend'], {
      env: {
        ...process.env,
        GIT_PROJECT_ROOT: this.root,
        GIT_HTTP_EXPORT_ALL: '1',
        REQUEST_METHOD: req.method,
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        REMOTE_ADDR: '127.0.0.1',
        GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
        HTTP_CONTENT_ENCODING: String(req.headers['content-encoding'] ?? ''),
      },
    });
    req.pipe(child.stdin);
    let head = Buffer.alloc(0);
    let headersDone = false;
    child.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) return void res.write(chunk);
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      headersDone = true;
      let status = 200;
      for (const line of head.subarray(0, end).toString().split('\r\n')) {
        const [k, ...v] = line.split(':');
        if (k.toLowerCase() === 'status') status = parseInt(v.join(':').trim(), 10);
        else res.setHeader(k, v.join(':').trim());
      }
      res.writeHead(status);
      res.write(head.subarray(end + 4));
    });
    child.on('close', () => res.end());
  }
}

export class GitRepo {
  constructor(readonly work: string) {}

  write(files: Record<string, string | Buffer>, mode = 0o644): this {
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(this.work, path)), { recursive: true });
      writeFileSync(join(this.work, path), content, { mode });
      chmodSync(join(this.work, path), mode);
    }
    return this;
  }

  /** Commits everything and returns the new sha. */
  commit(message: string): string {
    git(['-C', this.work, 'add', '-A']);
    git([
      '-C',
      this.work,
      '-c',
      'user.name=Test',
      '-c',
      'user.email=test@example.org',
      'commit',
      '-q',
      '--allow-empty',
      '-m',
      message,
    ]);
    return git(['-C', this.work, 'rev-parse', 'HEAD']).trim();
  }

  push(branch: string): void {
    git(['-C', this.work, 'push', '-q', '-f', 'origin', `HEAD:refs/heads/${branch}`]);
  }
}

function git(args: string[]): string {
  return execFileSync('git', args, { encoding: 'utf8' });
}
