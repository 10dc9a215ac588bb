import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packContext } from '../../src/exec/build-context.js';
import { buildImage } from '../../src/exec/docker/build.js';
import { localDocker } from '../../src/exec/docker/client.js';
import type { UntrustedBuildNetwork } from '../../src/exec/untrusted-build.js';

const docker = localDocker(process.env.DOCKER_HOST || undefined);
const tags: string[] = [];

/** Builds `dockerfile` (busybox beside it) on the local engine; resolves to what its RUN steps printed. */
async function build(
  dockerfile: string,
  opts: { untrusted: boolean; network?: UntrustedBuildNetwork },
): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'deployer-untrusted-'));
  copyFileSync('/bin/busybox', join(dir, 'busybox'));
  writeFileSync(join(dir, 'Dockerfile'), dockerfile);
  const lines: string[] = [];
  const tag = `deployer-test/untrusted:${randomUUID().slice(0, 8)}`;
  tags.push(tag);
  try {
    await buildImage(docker, {
      context: await packContext(dir, {
        includeGit: false,
        dockerfile: 'Dockerfile',
        untrusted: opts.untrusted,
      }),
      dockerfile: 'Dockerfile',
      // A fresh value each time: the RUN step runs instead of coming from the layer cache.
      buildArgs: { NONCE: randomUUID() },
      platform: 'linux/amd64',
      ulimits: [],
      tag,
      untrusted: opts.untrusted,
      untrustedNetwork: opts.network,
      onLine: (line) => lines.push(line),
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // BuildKit's log: `#4 0.092 <output>` for what a step prints, other lines for the steps.
  return lines.flatMap((l) => /^#\d+ \d+\.\d+ (.*)$/.exec(l)?.slice(1) ?? []).join('\n');
}

const run = (script: string, mount = '') =>
  `FROM scratch\nCOPY busybox /bin/busybox\nARG NONCE\nRUN ${mount} ["/bin/busybox", "sh", "-c", "${script}"]\n`;

describe('untrusted builds on the real engine (BuildKit)', () => {
  afterAll(async () => {
    for (const tag of tags)
      await docker
        .getImage(tag)
        .remove()
        .catch(() => undefined);
  });

  it('an untrusted build writing into a cache mount is not seen by a trusted build using the same mount', async () => {
    const id = `shared-${randomUUID().slice(0, 8)}`;
    const mount = `--mount=type=cache,id=${id},target=/cache`;
    const list = 'echo SEEN: $(/bin/busybox ls /cache | /bin/busybox tr \\"\\\\n\\" \\" \\")';
    const write = (what: string) => run(`echo ${what} > /cache/${what}; ${list}`, mount);

    await build(write('trusted-marker'), { untrusted: false });
    const poisoning = await build(write('poison'), { untrusted: true });
    expect(poisoning).toMatch(/^SEEN: poison\s*$/m);

    const trusted = await build(run(list, mount), { untrusted: false });
    expect(trusted).toMatch(/^SEEN: trusted-marker\s*$/m);

    // The mount persists between untrusted builds too: they see each other's writes.
    const untrusted = await build(run(list, mount), { untrusted: true });
    expect(untrusted).toMatch(/^SEEN: poison\s*$/m);
  });

  describe('the network of untrusted builds', () => {
    let server: Server;
    let address = '';
    let port = 0;

    beforeAll(async () => {
      // The host's own address, as a build container reaches it through its bridge.
      address =
        Object.values(networkInterfaces())
          .flat()
          .find((i) => i && i.family === 'IPv4' && !i.internal)?.address ?? '';
      // Enough HTTP for the engine's ADD: one response to whatever is asked.
      server = createServer((socket) =>
        socket.once('data', () =>
          socket.end('HTTP/1.0 200 OK\r\nContent-Length: 6\r\n\r\nhello\n'),
        ),
      );
      await new Promise<void>((r) => server.listen(0, '0.0.0.0', r));
      port = (server.address() as { port: number }).port;
    });
    afterAll(async () => {
      await new Promise((r) => server?.close(r));
    });

    const connect = () =>
      run(
        `if /bin/busybox nc -w 3 ${address} ${port} </dev/null; then echo CONNECTED; else echo NO-ROUTE; fi`,
      );

    it('with the setting none, RUN steps cannot connect out', async () => {
      expect(address).not.toBe('');
      const log = await build(connect(), { untrusted: true, network: 'none' });
      expect(log).toMatch(/^NO-ROUTE$/m);
      expect(log).not.toMatch(/^CONNECTED$/m);
    });

    it('ADD of a URL, fetched by the engine from the host whatever the setting, is refused', async () => {
      const add = `FROM scratch\nCOPY busybox /bin/busybox\nADD http://${address}:${port}/ /fetched\nRUN ["/bin/busybox", "sh", "-c", "echo FETCHED $(/bin/busybox cat /fetched)"]\n`;
      await expect(build(add, { untrusted: true, network: 'none' })).rejects.toThrow(
        `Dockerfile adds a remote or variable source ("ADD http://${address}:${port}/ /fetched")`,
      );
    });

    it('with the default, they can (what `none` takes away)', async () => {
      const log = await build(connect(), { untrusted: true, network: 'default' });
      expect(log).toMatch(/^CONNECTED$/m);
      expect(log).not.toMatch(/^NO-ROUTE$/m);
    });
  });
});
