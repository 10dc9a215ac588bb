/** An image reference, normalised the way the Docker CLI does (`nginx` → `docker.io/library/nginx`). */
export interface ImageRef {
  /** `docker.io`, `ghcr.io`, `localhost:5000`, `127.0.0.1:5001`, `[::1]:5000`. */
  registry: string;
  /** The path in the registry, e.g. `library/nginx` or `acme/web`. */
  repository: string;
  tag?: string;
  /** `sha256:<64 hex>`. */
  digest?: string;
}

/** A string that is not an image reference; the message says which part is wrong. */
export class InvalidImageRefError extends Error {
  constructor(
    readonly input: string,
    reason: string,
  ) {
    super(`invalid image reference "${input.slice(0, 200)}": ${reason}`);
    this.name = 'InvalidImageRefError';
  }
}

export const DOCKER_HUB = 'docker.io';

const HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^\w[\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const HOST =
  /^(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]{1,5})?$/;

/**
 * Parses `[registry/]repository[:tag][@digest]`. The first path component is a
 * registry when it contains `.` or `:`, is `localhost` or has capitals (Docker's rule);
 * otherwise the registry is Docker Hub, where a single name means `library/<name>`.
 */
export function parseImageRef(text: string): ImageRef {
  if (text === '') throw new InvalidImageRefError(text, 'it is empty');
  if (text.length > 1000) throw new InvalidImageRefError(text, 'it is too long');
  if (/\s/.test(text)) throw new InvalidImageRefError(text, 'it contains whitespace');

  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw new InvalidImageRefError(text, `bad digest "${digest}"`);
    if (digest.startsWith('sha256:') && !/^sha256:[a-f0-9]{64}$/.test(digest))
      throw new InvalidImageRefError(text, 'a sha256 digest has 64 lowercase hex digits');
  }

  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/') && !rest.endsWith(']')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw new InvalidImageRefError(text, `bad tag "${tag}"`);
  }

  let registry = DOCKER_HUB;
  let repository = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (/[.:]/.test(first) || first === 'localhost' || first !== first.toLowerCase()) {
      if (!HOST.test(first)) throw new InvalidImageRefError(text, `bad registry "${first}"`);
      registry = HUB_ALIASES.has(first) ? DOCKER_HUB : first;
      repository = rest.slice(slash + 1);
    }
  }
  if (repository === '') throw new InvalidImageRefError(text, 'the repository name is missing');
  for (const component of repository.split('/')) {
    if (!COMPONENT.test(component))
      throw new InvalidImageRefError(
        text,
        `bad repository path component "${component}" (lowercase letters, digits and . _ - only)`,
      );
  }
  if (repository.length > 255) throw new InvalidImageRefError(text, 'the repository is too long');
  if (/^[a-f0-9]{64}$/.test(repository))
    throw new InvalidImageRefError(text, 'a 64-hex-digit name is an image id, not a repository');
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;

  return { registry, repository, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/** The full form, `registry/repository[:tag][@digest]`, which `parseImageRef` reads back unchanged. */
export function formatImageRef(ref: ImageRef): string {
  return (
    `${ref.registry}/${ref.repository}` +
    (ref.tag ? `:${ref.tag}` : '') +
    (ref.digest ? `@${ref.digest}` : '')
  );
}

/** The host without its port: `127.0.0.1:5000` → `127.0.0.1`, `[::1]:5000` → `::1`. */
function hostOf(registry: string): string {
  const v6 = /^\[([^\]]+)\]/.exec(registry);
  if (v6) return v6[1];
  if (registry.split(':').length > 2) return registry; // a bare IPv6 address
  return registry.split(':')[0];
}

/** `DEPLOYER_INSECURE_REGISTRIES`-style text (`a:5000, b`) as a list. */
export function parseRegistryList(text: string | undefined): string[] {
  return (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * Whether to talk plain HTTP to `registry`: loopback hosts (localhost, 127.0.0.0/8, ::1),
 * as dockerd does, and the registries listed (by `host:port` or by host alone).
 */
export function isInsecureRegistry(registry: string, listed: readonly string[] = []): boolean {
  const host = hostOf(registry).toLowerCase();
  if (host === 'localhost' || host === '::1' || /^127(?:\.\d{1,3}){3}$/.test(host)) return true;
  return listed.some((entry) => entry === registry || entry.toLowerCase() === host);
}

/** Where the registry's API lives: Docker Hub's is `registry-1.docker.io`. */
export function registryBaseUrl(registry: string, insecure: boolean): string {
  if (registry === DOCKER_HUB) return 'https://registry-1.docker.io';
  return `${insecure ? 'http' : 'https'}://${registry}`;
}
