/** A registry failed, refused or could not be reached; `status` is unset when there was no answer. */
export class RegistryError extends Error {
  readonly registry: string;
  readonly method: string;
  /** The URL's path, without query (upload URLs carry state in it). */
  readonly path: string;
  readonly status?: number;
  /** The registry's error code, e.g. `MANIFEST_UNKNOWN`, `DENIED`. */
  readonly code?: string;

  constructor(
    message: string,
    at: { registry: string; method: string; path: string; status?: number; code?: string },
  ) {
    super(message);
    this.name = 'RegistryError';
    this.registry = at.registry;
    this.method = at.method;
    this.path = at.path;
    this.status = at.status;
    this.code = at.code;
  }

  /** No answer, 429 or 5xx: worth another try. Refusals and missing manifests are not. */
  get retryable(): boolean {
    return this.status === undefined || this.status === 429 || this.status >= 500;
  }
}

/** The one wording for a registry that refuses a pull or push for lack of (good) credentials. */
export function refusedMessage(f: {
  registry: string;
  repository: string;
  action: 'pull' | 'push';
  status: number;
  credentials?: { username: string; source?: string };
  /** The token service the credentials were not sent to, and why. */
  withheld?: { realm: string; why: string };
  dockerConfigFile: string;
}): string {
  const head = `${f.registry} refused the ${f.action} (${f.status})`;
  if (f.credentials && f.withheld) {
    const host = new URL(f.withheld.realm).host;
    return (
      `${head}: the credentials for ${f.registry} were not sent to the token service it named, ` +
      `${f.withheld.realm} (${f.withheld.why}) — if that is ${f.registry}'s own token service, ` +
      `list ${host} in DEPLOYER_REGISTRY_TOKEN_HOSTS (https only)`
    );
  }
  if (!f.credentials)
    return (
      `${head}: no credentials for ${f.registry} — provide them in ${f.dockerConfigFile} ` +
      `(docker login ${f.registry}), in DEPLOYER_REGISTRY_AUTH_FILE, or with DEPLOYER_REGISTRY=${f.registry}, ` +
      'DEPLOYER_REGISTRY_USER and DEPLOYER_REGISTRY_PASSWORD_FILE'
    );
  const who = `user ${f.credentials.username}${f.credentials.source ? ` (from ${f.credentials.source})` : ''}`;
  if (f.status === 403)
    return `${head}: ${who} may not ${f.action} ${f.registry}/${f.repository} — grant it access or provide other credentials`;
  return `${head}: the registry rejected the password of ${who} — correct it (docker login ${f.registry})`;
}

/** Why a request got no answer, in words: "cannot reach 127.0.0.1:5999 (…): connection refused". */
export function unreachable(registry: string, base: string, err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code;
  const why =
    code === 'ECONNREFUSED'
      ? 'connection refused (is the registry running?)'
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
        ? 'no such host'
        : code?.startsWith('ERR_SSL') || code === 'EPROTO'
          ? `TLS failed (${code}); if it speaks plain HTTP, list it in DEPLOYER_INSECURE_REGISTRIES`
          : (code ?? cause?.message ?? (err as Error).message);
  return `cannot reach ${registry} (${base}): ${why}`;
}
