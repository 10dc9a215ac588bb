import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unikernelHostSchema } from '../../src/config/schema.js';
import { parseImageRef } from '../../src/exec/image-ref.js';
import { RegistryClient } from '../../src/exec/registry.js';
import { deployUnikernel, UNIKERNEL_PATH } from '../../src/targets/unikernel.js';
import { testFlavour, testRepo } from '../helpers/flavour.js';
import { GitServer, type GitRepo } from '../helpers/git-server.js';
import { startHarness, uniqueName, waitFor, type Harness } from '../helpers/harness.js';
import { pushPayload } from '../helpers/payloads.js';
import { REGISTRY, SSH_PORT, testDeploySettings } from '../helpers/swarm.js';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const host = `root@127.0.0.1:${SSH_PORT}`;

describe('MirageOS unikernels: built, staged, copied to the VM host over SFTP, restarted', () => {
  const id = uniqueName('uk').toLowerCase();
  const vmDir = mkdtempSync(join(tmpdir(), 'deployer-vm-'));
  const calls = join(vmDir, 'calls.log');
  const redeploy = join(vmDir, 'mirage-redeploy');
  let git: GitServer;
  let repo: GitRepo;
  let h: Harness;
  const where = { owner: 'mirage', name: 'mirage-www', cloneUrl: '' };
  const hostConfig = unikernelHostSchema.parse({ directory: vmDir, restart: [redeploy, '{name}'] });
  const settings = testDeploySettings(mkdtempSync(join(tmpdir(), 'deployer-dockercfg-')));

  beforeAll(async () => {
    // The VM host's restart command: it records how it was called.
    writeFileSync(redeploy, `#!/bin/sh\necho "$@" >> ${calls}\n`, { mode: 0o755 });
    git = await new GitServer().start();
    repo = git.createRepo('mirage', 'mirage-www');
    where.cloneUrl = git.cloneUrl('mirage', 'mirage-www');
    h = await startHarness(
      testFlavour({
        stagingRepo: `${REGISTRY}/staging-${id}`,
        unikernelHosts: { [host]: hostConfig },
        repos: [
          testRepo('mirage/mirage-www', {
            builds: [
              {
                kind: 'unikernel',
                dockerfile: 'Dockerfile',
                target: 'hvt',
                args: ['EXTRA_FLAGS=--tls=true'],
                deployments: [{ branch: 'main', service: 'www', host }],
              },
            ],
          }),
        ],
      }),
      { deploySettings: settings },
    );
  });
  afterAll(async () => {
    await h?.close();
    await git?.stop();
  });

  let firstImage = '';
  const unikernel = randomBytes(3 * 1024 * 1024);

  it('a push to the deployment branch puts the .hvt on the host intact and restarts it once', async () => {
    repo.write({
      'unikernel.hvt': unikernel,
      Dockerfile: 'FROM scratch\nARG TARGET\nARG EXTRA_FLAGS\nCOPY unikernel.hvt /unikernel.hvt\n',
    });
    const sha = repo.commit('www');
    repo.push('main');
    expect((await h.send('push', pushPayload(where, 'main', sha))).status).toBe(200);

    const done = await waitFor(
      'the unikernel deploy',
      async () => {
        const [latest] = await h.deployer.runtime.deploys.history(`unikernel:${host}/www`);
        return latest && latest.result !== 'deploying' ? latest : undefined;
      },
      120_000,
    );
    expect(done).toMatchObject({
      result: 'success',
      sha,
      repo: 'mirage/mirage-www',
      branch: 'main',
    });
    expect(done.image).toMatch(
      new RegExp(`^${REGISTRY.replace('.', '\\.')}/staging-${id}@sha256:`),
    );
    firstImage = done.image;
    expect(sha256(readFileSync(join(vmDir, 'www.hvt')))).toBe(sha256(unikernel));
    expect(readFileSync(calls, 'utf8')).toBe('www\n');
  }, 150_000);

  it('refuses a bad name before connecting to anything', async () => {
    const error = await deployUnikernel({
      name: '../etc/x',
      host: 'root@127.0.0.1:2299', // nothing listens here: a connection attempt would fail differently
      hostConfig,
      image: parseImageRef(firstImage || `${REGISTRY}/x@sha256:${'0'.repeat(64)}`),
      registry: new RegistryClient(),
      ssh: settings.ssh,
      log: () => undefined,
    }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe(
      'refusing unikernel name "../etc/x": expected ^[A-Za-z][-0-9A-Za-z_]*$',
    );
  });

  it('a copy that fails half way leaves the previous unikernel in place and restarts nothing', async () => {
    const real = new RegistryClient();
    // The registry's answer breaks off after 1 MiB of the layer.
    const failing = Object.create(real) as RegistryClient;
    failing.openBlob = async (ref, digest) => {
      const body = (await real.openBlob(ref, digest)).getReader();
      let sent = 0;
      return new ReadableStream<Uint8Array>({
        async pull(controller) {
          const { value, done } = await body.read();
          if (done) return controller.close();
          sent += value.length;
          if (sent > 1024 * 1024) return controller.error(new Error('connection reset by peer'));
          controller.enqueue(value);
        },
      });
    };
    const error = await deployUnikernel({
      name: 'www',
      host,
      hostConfig,
      image: parseImageRef(firstImage),
      registry: failing,
      ssh: settings.ssh,
      log: () => undefined,
    }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect(sha256(readFileSync(join(vmDir, 'www.hvt')))).toBe(sha256(unikernel));
    expect(readFileSync(calls, 'utf8')).toBe('www\n');
    expect(existsSync(join(vmDir, UNIKERNEL_PATH))).toBe(false);
  });
});
