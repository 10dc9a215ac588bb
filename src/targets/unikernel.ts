import type { UnikernelHost } from '../config/schema.js';
import { streamFileFromImage } from '../exec/image-file.js';
import { parseImageRef, type ImageRef } from '../exec/image-ref.js';
import type { RegistryClient } from '../exec/registry.js';
import { parseSshDestination } from '../exec/ssh/destination.js';
import { sftpPut } from '../exec/ssh/sftp.js';
import { sshExec } from '../exec/ssh/exec.js';
import type { SshSettings } from '../exec/ssh/settings.js';
import { DeployError, type DeployContext, type DeployOutcome, type Target } from './target.js';

const NAME = /^[A-Za-z][-0-9A-Za-z_]*$/;

export interface UnikernelDeploy {
  name: string;
  /** ssh destination of the VM host. */
  host: string;
  hostConfig: UnikernelHost;
  /** The built image, by digest; it holds `/unikernel.hvt`. */
  image: ImageRef;
  registry: RegistryClient;
  ssh: SshSettings;
  log: (line: string) => void;
}

export const UNIKERNEL_PATH = '/unikernel.hvt';

export const remoteUnikernelPath = (dir: string, name: string): string =>
  `${dir.replace(/\/+$/, '')}/${name}.hvt`;

/** The host's restart command with `{name}` filled in, as argv. */
export const restartArgv = (restart: readonly string[], name: string): string[] =>
  restart.map((arg) => arg.replaceAll('{name}', name));

/**
 * A MirageOS unikernel: `/unikernel.hvt` is streamed from the registry to the VM
 * host over SFTP (to a temporary name, then renamed over the old one), then the
 * host's restart command runs. The name is checked before anything connects.
 */
export async function deployUnikernel(u: UnikernelDeploy): Promise<void> {
  if (!NAME.test(u.name))
    throw new DeployError(
      `refusing unikernel name ${JSON.stringify(u.name)}: expected ${NAME.source}`,
    );
  const target = parseSshDestination(u.host, u.ssh);
  const remote = remoteUnikernelPath(u.hostConfig.directory, u.name);
  u.log(
    `Copying ${UNIKERNEL_PATH} of ${u.image.repository}@${u.image.digest} to ${u.host}:${remote}`,
  );
  await streamFileFromImage(u.registry, u.image, UNIKERNEL_PATH, (file) =>
    sftpPut(target, u.ssh, file, remote, { mode: 0o755 }),
  );
  const argv = restartArgv(u.hostConfig.restart, u.name);
  u.log(`Running ${argv.join(' ')} on ${u.host}`);
  const { stdout } = await sshExec(target, argv, { settings: u.ssh });
  for (const line of stdout.split('\n').filter(Boolean)) u.log(line);
}

export const unikernel: Target = {
  kind: 'unikernel',
  async deploy({ place, image, env, log }: DeployContext): Promise<DeployOutcome> {
    if (place.kind !== 'unikernel')
      throw new DeployError(`a ${place.kind} unit cannot be deployed as a unikernel`);
    await deployUnikernel({
      name: place.name,
      host: place.host,
      hostConfig: env.unikernelHost(place.host),
      image: parseImageRef(image),
      registry: env.registry,
      ssh: env.ssh,
      log,
    });
    return { changed: true };
  },
};
