import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { extract } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packContext } from '../../src/exec/build-context.js';
import { CheckoutFileError, readCheckoutFile } from '../../src/exec/checkout-file.js';
import { readFileAtCommit } from '../../src/exec/commit-file.js';
import { fetchCommit } from '../../src/exec/git.js';
import { GitServer } from '../helpers/git-server.js';

const DOCKERFILE = 'FROM scratch\nCOPY busybox /bin/busybox\n';

/** The entries of a tar stream: name, type, link target and content. */
async function entries(
  stream: Readable,
): Promise<{ name: string; type: string; linkname?: string; content: string }[]> {
  const out: { name: string; type: string; linkname?: string; content: string }[] = [];
  const ex = extract();
  stream.pipe(ex);
  for await (const entry of ex) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    out.push({
      name: entry.header.name,
      type: entry.header.type ?? 'file',
      linkname: entry.header.linkname ?? undefined,
      content: Buffer.concat(chunks).toString('utf8'),
    });
  }
  return out;
}

describe('files of an untrusted checkout (real git checkouts and special files)', () => {
  let git: GitServer;
  const work = mkdtempSync(join(tmpdir(), 'deployer-checkout-files-'));
  let n = 0;

  beforeAll(async () => {
    git = await new GitServer().start();
  });
  afterAll(async () => {
    await git?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  /** A commit with `files` and `symlinks` (path → target), fetched as a build fetches it. */
  async function checkout(
    files: Record<string, string>,
    symlinks: Record<string, string> = {},
  ): Promise<string> {
    const name = `repo-${++n}`;
    const repo = git.createRepo('acme', name);
    repo.write({ Dockerfile: DOCKERFILE, ...files });
    for (const [path, target] of Object.entries(symlinks)) {
      mkdirSync(join(repo.work, path, '..'), { recursive: true });
      symlinkSync(target, join(repo.work, path));
    }
    const sha = repo.commit('files');
    repo.push('main');
    const dir = join(work, name);
    await fetchCommit({ cloneUrl: git.cloneUrl('acme', name), sha, ref: 'refs/heads/main', dir });
    return dir;
  }

  /** A plain directory, for what git cannot hold (FIFOs, devices). */
  function directory(): string {
    const dir = mkdtempSync(join(work, 'dir-'));
    writeFileSync(join(dir, 'Dockerfile'), DOCKERFILE);
    return dir;
  }

  const pack = (dir: string, dockerfile = 'Dockerfile') =>
    packContext(dir, { includeGit: false, dockerfile });

  it('a .dockerignore symlinked to /dev/zero fails the build at once, naming the file', async () => {
    const dir = await checkout({}, { '.dockerignore': '/dev/zero' });
    const err = await pack(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckoutFileError);
    expect((err as Error).message).toBe(
      '.dockerignore in the checkout is a symlink to /dev/zero, outside the checkout',
    );
  });

  it('a .dockerignore or Dockerfile symlinked to /etc/shadow is never read', async () => {
    const ignore = await checkout({}, { '.dockerignore': '/etc/shadow' });
    await expect(pack(ignore)).rejects.toThrow(
      '.dockerignore in the checkout is a symlink to /etc/shadow, outside the checkout',
    );
    const dockerfile = await checkout({ 'Dockerfile.real': DOCKERFILE }, {});
    rmSync(join(dockerfile, 'Dockerfile'));
    symlinkSync('/etc/shadow', join(dockerfile, 'Dockerfile'));
    await expect(pack(dockerfile)).rejects.toThrow(
      'Dockerfile in the checkout is a symlink to /etc/shadow, outside the checkout',
    );
  });

  it('a symlinked parent directory counts: docker/ → /etc does not let docker/shadow be read', async () => {
    const dir = await checkout({}, { docker: '/etc' });
    await expect(pack(dir, 'docker/shadow')).rejects.toThrow(
      'docker/shadow in the checkout is a symlink to /etc/shadow, outside the checkout',
    );
  });

  it('symlinks inside the checkout are fine: Dockerfile → docker/Dockerfile.prod builds', async () => {
    const dir = await checkout(
      { 'docker/Dockerfile.prod': DOCKERFILE, '.dockerignore': 'secret.txt\n', 'secret.txt': 's' },
      { 'Dockerfile.link': 'docker/Dockerfile.prod' },
    );
    const names = (await entries(await pack(dir, 'Dockerfile.link'))).map((e) => e.name);
    expect(names).toContain('Dockerfile.link');
    expect(names).not.toContain('secret.txt');
  });

  it('an oversized .dockerignore fails the build, saying why', async () => {
    const dir = await checkout({ '.dockerignore': '#'.repeat(2 * 1024 * 1024) });
    await expect(pack(dir)).rejects.toThrow(
      '.dockerignore in the checkout is larger than the 1048576 bytes allowed',
    );
  });

  it('a missing Dockerfile is named', async () => {
    const dir = await checkout({});
    await expect(pack(dir, 'nope/Dockerfile')).rejects.toThrow(
      'nope/Dockerfile in the checkout does not exist',
    );
  });

  it('packs symlinks as symlinks: a link to /etc/shadow carries no content', async () => {
    const dir = await checkout({ 'app.txt': 'app' }, { 'shadow-link': '/etc/shadow' });
    const packed = await entries(await pack(dir));
    expect(packed.find((e) => e.name === 'shadow-link')).toMatchObject({
      type: 'symlink',
      linkname: '/etc/shadow',
      content: '',
    });
    const shadow = readFileSync('/etc/shadow', 'utf8');
    expect(packed.some((e) => shadow.length > 0 && e.content.includes(shadow))).toBe(false);
  });

  it('a FIFO as .dockerignore fails at once instead of blocking the worker', async () => {
    const dir = directory();
    execFileSync('mkfifo', [join(dir, '.dockerignore')]);
    const started = Date.now();
    await expect(pack(dir)).rejects.toThrow(
      '.dockerignore in the checkout is a FIFO, not a regular file',
    );
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('a FIFO or a device in the build context fails the build, naming it', async () => {
    const fifo = directory();
    mkdirSync(join(fifo, 'src'));
    execFileSync('mkfifo', [join(fifo, 'src', 'pipe')]);
    await expect(pack(fifo)).rejects.toThrow(
      'src/pipe in the checkout is a FIFO: a build context holds only files, directories and symlinks',
    );
    const device = directory();
    execFileSync('mknod', [join(device, 'zero'), 'c', '1', '5']);
    await expect(pack(device)).rejects.toThrow(
      'zero in the checkout is a character device: a build context holds only files, directories and symlinks',
    );
    // Left out by .dockerignore: never packed, so never refused.
    writeFileSync(join(device, '.dockerignore'), 'zero\n');
    expect((await entries(await pack(device))).map((e) => e.name).sort()).toEqual([
      '.',
      '.dockerignore',
      'Dockerfile',
    ]);
  });

  it('the compose file of a deploy is read the same way', async () => {
    const ok = await checkout({ 'deploy/stack.yml': 'services: {}\n' });
    expect(await readCheckoutFile(ok, 'deploy/stack.yml')).toBe('services: {}\n');

    for (const [symlinks, path, why] of [
      [{ 'deploy/stack.yml': '/etc/shadow' }, 'deploy/stack.yml', 'a symlink to /etc/shadow'],
      [{ deploy: '/etc' }, 'deploy/shadow', 'a symlink to /etc/shadow'],
      [{ 'deploy/stack.yml': '/dev/zero' }, 'deploy/stack.yml', 'a symlink to /dev/zero'],
    ] as const) {
      const name = `compose-${++n}`;
      const repo = git.createRepo('acme', name);
      for (const [link, target] of Object.entries(symlinks)) {
        mkdirSync(join(repo.work, link, '..'), { recursive: true });
        symlinkSync(target, join(repo.work, link));
      }
      const sha = repo.commit('compose');
      repo.push('live');
      const read = readFileAtCommit(
        { cloneUrl: git.cloneUrl('acme', name), sha, ref: 'refs/heads/live', workDir: work },
        path,
      );
      await expect(read).rejects.toThrow(`${path} in the checkout is ${why}, outside the checkout`);
    }
  });
});
