import { BuildError } from './errors.js';

/**
 * BuildKit's Dockerfile frontend puts every `RUN --mount=type=cache` id under the
 * build argument BUILDKIT_CACHE_MOUNT_NS (`<ns>/<id>`; trusted builds have none, so
 * theirs are `/<id>`): an untrusted build can neither read nor poison a trusted
 * build's cache mounts, whatever ids its Dockerfile (or its base image's ONBUILD) names.
 */
export const UNTRUSTED_CACHE_NAMESPACE = 'deployer-untrusted';

/** The network of untrusted builds' RUN steps: the engine's `default`, or `none` (loopback only). */
export type UntrustedBuildNetwork = 'default' | 'none';

/** What an untrusted build adds to the Engine API's /build parameters. */
export function untrustedBuildOptions(network: UntrustedBuildNetwork): {
  buildargs: Record<string, string>;
  networkmode: UntrustedBuildNetwork;
} {
  return {
    buildargs: { BUILDKIT_CACHE_MOUNT_NS: UNTRUSTED_CACHE_NAMESPACE },
    networkmode: network,
  };
}

// docker/dockerfile (any tag or digest) is BuildKit's own frontend, which honours the namespace.
const OFFICIAL_FRONTEND =
  /^(?:docker\.io\/)?docker\/dockerfile(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;
// BuildKit splits lines at \n only, and its `.` takes a \r: so do these.
const DIRECTIVE = /^\s*(?:#|\/\/)\s*syntax\s*=\s*([^\n]*?)\s*$/i;

/** Every frontend the Dockerfile asks for: `# syntax=`, `// syntax=`, or a JSON `syntax` key. */
export function requestedFrontends(text: string): string[] {
  const found = text.split('\n').flatMap((line) => {
    const m = DIRECTIVE.exec(line);
    return m ? [m[1]] : [];
  });
  try {
    const json = JSON.parse(text) as unknown;
    if (json && typeof json === 'object')
      for (const [key, value] of Object.entries(json))
        if (key.toLowerCase() === 'syntax') found.push(String(value));
  } catch {
    // not JSON: a Dockerfile
  }
  return found;
}

/**
 * What an untrusted build may not ask for: a custom frontend (`# syntax=` naming any
 * image but docker/dockerfile runs code of the image's choosing inside BuildKit and
 * could ignore the cache namespace), or `ADD` of a URL or git repository (fetched by
 * the engine itself, from the host's network whatever the build's network setting,
 * so it could reach 169.254.169.254). The build fails, naming the file and why.
 */
export function checkUntrustedDockerfile(file: string, text: string): void {
  checkFrontend(file, text);
  const add = remoteAdds(text)[0];
  if (add !== undefined)
    throw new BuildError(
      `${file} adds a remote or variable source (${JSON.stringify(add.trim().slice(0, 200))}); builds from forks and pull requests may only ADD files of their context`,
    );
}

function checkFrontend(file: string, text: string): void {
  const custom = requestedFrontends(text).find((f) => !OFFICIAL_FRONTEND.test(f));
  if (custom !== undefined)
    throw new BuildError(
      `${file} asks for the frontend "${custom}" (syntax directive); builds from forks and pull requests may only use docker/dockerfile`,
    );
}

const ADD = /^\s*(?:onbuild\s+)?add\s([\s\S]*)$/i;
const REMOTE = /:\/\/|\$|git@/;

/**
 * The ADD instructions with a URL, git or `$variable` source. Read three ways, any of
 * which counts: line by line, and with line continuations joined for either escape
 * character (`\\`, or a backtick after `# escape=`), as BuildKit joins them (comment
 * and empty lines inside a continuation are skipped). Heredoc bodies are read as
 * lines too: a false alarm there only fails an untrusted build.
 */
export function remoteAdds(text: string): string[] {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  const views = [...lines, ...joined(lines, '\\'), ...joined(lines, '`')];
  return views.flatMap((line) => {
    const args = ADD.exec(line)?.[1];
    return args !== undefined && REMOTE.test(args) ? [line] : [];
  });
}

function joined(lines: string[], escape: string): string[] {
  const continued = new RegExp(`\\${escape}[ \t]*$`);
  const out: string[] = [];
  let current: string | undefined;
  for (const line of lines) {
    if (current !== undefined && (/^\s*#/.test(line) || line.trim() === '')) continue;
    const m = continued.exec(line);
    current = (current ?? '') + (m ? line.slice(0, m.index) : line);
    if (!m) {
      out.push(current);
      current = undefined;
    }
  }
  if (current !== undefined) out.push(current);
  return out;
}
