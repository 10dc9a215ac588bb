/**
 * What a child process (git, the docker CLI, `docker compose`) may see of the
 * deployer's environment. Everything else stays behind, above all the App's
 * secrets (PRIVATE_KEY, WEBHOOK_SECRET, GITHUB_CLIENT_SECRET, session secrets,
 * registry passwords): a compose file interpolates any variable it is given, and
 * git runs helpers and hooks from the operator's configuration.
 */
const PASSED = new Set([
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'TMPDIR',
  'TZ',
  'LANG',
  'LANGUAGE',
  'SSH_AUTH_SOCK',
  'XDG_CONFIG_HOME',
  'XDG_RUNTIME_DIR',
  // The docker CLI's own settings (the engine, its TLS files, its config directory).
  'DOCKER_HOST',
  'DOCKER_CONTEXT',
  'DOCKER_CONFIG',
  'DOCKER_CERT_PATH',
  'DOCKER_TLS',
  'DOCKER_TLS_VERIFY',
  'DOCKER_API_VERSION',
  'DOCKER_DEFAULT_PLATFORM',
  // Proxies and certificate authorities, for git over HTTPS behind a corporate proxy.
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'ALL_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'all_proxy',
  'no_proxy',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'CURL_CA_BUNDLE',
  'GIT_SSL_CAINFO',
  'GIT_SSL_CAPATH',
]);

/** The allow-listed part of `env` (locale `LC_*` included), for a child process. */
export function childEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env))
    if (value !== undefined && (PASSED.has(name) || name.startsWith('LC_'))) out[name] = value;
  return out;
}

/**
 * What a docker credential helper reads besides the allow-list: the cloud
 * helpers' own settings and keys (ecr-login: `AWS_*`, gcr: `CLOUDSDK_*` and
 * GOOGLE_APPLICATION_CREDENTIALS, acr-env: `AZURE_*`), `pass`'s store and GnuPG,
 * and the D-Bus session of `secretservice`. Given to helpers only, never to git or compose.
 */
const HELPER_PREFIXES = ['AWS_', 'AZURE_', 'CLOUDSDK_'];
const HELPER_NAMES = new Set([
  'GOOGLE_APPLICATION_CREDENTIALS',
  'PASSWORD_STORE_DIR',
  'GNUPGHOME',
  'DBUS_SESSION_BUS_ADDRESS',
]);

/** The part of `env` a credential helper gets on top of `childEnv`. */
export function credentialHelperEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env))
    if (
      value !== undefined &&
      (HELPER_NAMES.has(name) || HELPER_PREFIXES.some((p) => name.startsWith(p)))
    )
      out[name] = value;
  return out;
}
