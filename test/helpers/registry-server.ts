import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/exec/run.js';

/** How a test registry checks who asks: htpasswd (Basic) or tokens from a realm (Bearer). */
export type RegistryAuth =
  | { htpasswd: { user: string; password: string } }
  | { token: { realm: string; service: string; issuer: string; rootCertFile: string } };

/** A loopback port nobody listens on now. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const free = await new Promise<boolean>((resolve) => {
      const probe = createServer()
        .once('error', () => resolve(false))
        .listen(port, host, () => probe.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port on ${host}`);
}

/**
 * A docker-registry (Debian's, as scripts/services.sh starts them) of a test's own, on
 * a free loopback port, with its own storage and auth.
 */
export class RegistryServer {
  readonly dir = mkdtempSync(join(tmpdir(), 'deployer-registry-server-'));
  /** `127.0.0.1:port`, a registry name for image references. */
  host = '';
  private child?: ChildProcess;
  private output = '';

  constructor(private readonly auth: RegistryAuth) {}

  async start(): Promise<this> {
    const port = await freePort();
    this.host = `127.0.0.1:${port}`;
    let authConfig = '';
    if ('htpasswd' in this.auth) {
      const { user, password } = this.auth.htpasswd;
      const file = join(this.dir, 'htpasswd');
      writeFileSync(file, await run(['htpasswd', '-Bbn', user, password]));
      authConfig = `auth:\n  htpasswd:\n    realm: test\n    path: ${file}\n`;
    } else {
      const t = this.auth.token;
      authConfig =
        `auth:\n  token:\n    realm: ${t.realm}\n    service: ${t.service}\n` +
        `    issuer: ${t.issuer}\n    rootcertbundle: ${t.rootCertFile}\n`;
    }
    const config = join(this.dir, 'config.yml');
    writeFileSync(
      config,
      `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${join(this.dir, 'data')}\n` +
        `http:\n  addr: ${this.host}\n  secret: test-${port}\n${authConfig}`,
    );
    const child = spawn('docker-registry', ['serve', config], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const keep = (d: Buffer) => (this.output = (this.output + d.toString()).slice(-4_000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const deadline = Date.now() + 15_000;
    for (;;) {
      const status = await fetch(`http://${this.host}/v2/`).then(
        (r) => r.status,
        () => 0,
      );
      if (status === 401) return this;
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`docker-registry on ${this.host} did not start:\n${this.output}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
