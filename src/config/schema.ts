import { z } from 'zod';

/** Build pools, as OCluster names them; one BullMQ queue each. */
export const ARCHS = [
  'linux-x86_64',
  'linux-arm64',
  'linux-ppc64',
  'linux-s390x',
  'linux-riscv64',
] as const;

// Names that end up in shell commands, paths or image tags are restricted up front.
const serviceName = z
  .string()
  .regex(/^[A-Za-z0-9][-A-Za-z0-9_.]{0,62}$/, 'a Docker service name ([A-Za-z0-9][-A-Za-z0-9_.]*)');
const unikernelName = z
  .string()
  .regex(/^[A-Za-z][-0-9A-Za-z_]{0,62}$/, 'a unikernel name (^[A-Za-z][-0-9A-Za-z_]*$)');
const contextName = z.string().regex(/^[A-Za-z0-9][-A-Za-z0-9_.]{0,127}$/, 'a docker context name');
const githubName = z
  .string()
  .regex(/^[A-Za-z0-9][-A-Za-z0-9_.]{0,99}$/, 'a GitHub owner or repository name');
const branchName = z
  .string()
  .regex(/^(?!.*\.\.)(?!\/)(?!.*\/$)[-A-Za-z0-9_./]{1,200}$/, 'a git branch name')
  .refine((b) => !b.endsWith('.lock'), 'a git branch name');
const repoPath = z
  .string()
  .regex(
    /^(?!\/)(?!.*(^|\/)\.\.(\/|$))[-A-Za-z0-9_./]{1,255}$/,
    'a relative path inside the repository',
  );
// registry[:port]/path[:tag] — lowercase path components, as the distribution spec requires.
const imageRef = z
  .string()
  .regex(
    /^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:[._-]+[a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$/,
    'an image reference like registry:5000/org/name:tag',
  );
const buildArg = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*=[^\n]*$/, 'a build argument KEY=VALUE');
const ulimit = z
  .string()
  .regex(
    /^[a-z]+=-?[0-9]+(?::-?[0-9]+)?$/,
    'a ulimit NAME=SOFT[:HARD], e.g. stack=1000000000:1000000000',
  );

export const archSchema = z.enum(ARCHS);

const argName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a build argument name');

/**
 * A build argument whose value is the head commit of another repository's branch
 * (the original's OPAM_REPO_GIT_SHA) or the digest of an image (OPAM_ARCHIVE_SHA);
 * when it changes, the build runs again.
 */
export const argSourceSchema = z.union([
  z.strictObject({
    arg: argName,
    head: z.strictObject({
      repo: z
        .string()
        .regex(/^[A-Za-z0-9][-A-Za-z0-9_.]*\/[A-Za-z0-9][-A-Za-z0-9_.]*$/, 'owner/name'),
      branch: branchName,
    }),
  }),
  z.strictObject({ arg: argName, image: imageRef }),
]);

export const dockerOptionsSchema = z.strictObject({
  buildArgs: z.array(buildArg).default([]),
  argsFrom: z
    .array(argSourceSchema)
    .default([])
    .describe('build arguments from elsewhere; the build runs again when one changes'),
  includeGit: z.boolean().default(false).describe('keep .git in the build context'),
  target: z
    .string()
    .regex(/^[A-Za-z0-9][-A-Za-z0-9_.]*$/, 'a build stage name')
    .nullable()
    .default(null),
  ulimits: z.array(ulimit).default([]),
});

export const serviceSchema = z
  .strictObject({
    name: serviceName.describe('Swarm service, stack or compose project name'),
    context: contextName
      .default('default')
      .describe('docker context of the engine it runs on; "default" is the local engine'),
    uri: z.string().max(500).optional().describe('where it is reached, shown in the web UI'),
    kind: z.enum(['swarm', 'stack', 'compose']).default('swarm'),
    compose: repoPath.optional().describe('compose file in the repository (stack and compose)'),
  })
  .refine((s) => s.kind === 'swarm' || s.compose !== undefined, {
    message: 'the compose file in the repository (required when kind is stack or compose)',
    path: ['compose'],
  });

export const deploymentSchema = z.strictObject({
  branch: branchName.describe('the branch whose commits are deployed'),
  target: imageRef.describe('the image tag pushed for it'),
  services: z.array(serviceSchema).default([]),
});

export const dockerBuildSchema = z.strictObject({
  kind: z.literal('docker').describe('docker (the default) or unikernel'),
  dockerfile: repoPath.describe('path of the Dockerfile in the repository'),
  archs: z
    .array(archSchema)
    .min(1)
    .default(['linux-x86_64'])
    .describe('build pools, one image each'),
  options: dockerOptionsSchema.default({
    buildArgs: [],
    argsFrom: [],
    includeGit: false,
    target: null,
    ulimits: [],
  }),
  deployments: z.array(deploymentSchema).default([]),
});

const sshDestination = z
  .string()
  .regex(/^(?:[A-Za-z0-9_.-]+@)?[A-Za-z0-9_.-]+(?::[0-9]{1,5})?$/, 'an ssh destination');

/** Where a VM host keeps unikernels and how it restarts one (`{name}` is replaced). */
export const unikernelHostSchema = z.strictObject({
  directory: z
    .string()
    .regex(/^\/(?!.*(^|\/)\.\.(\/|$))[-A-Za-z0-9_./]*$/, 'an absolute directory')
    .default('/srv/unikernels'),
  restart: z.array(z.string().max(500)).min(1).default(['mirage-redeploy', '{name}']),
});

/** A service that runs an image built elsewhere, redeployed when the image's digest changes. */
export const upstreamSchema = z.strictObject({
  image: imageRef,
  everyDays: z
    .number()
    .positive()
    .max(366)
    .default(7)
    .describe("how often the tag's digest is checked"),
  services: z.array(serviceSchema).min(1),
});

export const unikernelDeploymentSchema = z.strictObject({
  branch: branchName,
  service: unikernelName.describe('unikernel name: <directory>/<service>.hvt on the host'),
  host: sshDestination.describe('ssh destination of the VM host'),
});

export const unikernelBuildSchema = z.strictObject({
  kind: z.literal('unikernel'),
  dockerfile: repoPath,
  target: z
    .string()
    .regex(/^[a-z0-9]+$/, 'a MirageOS target such as hvt or xen')
    .describe('MirageOS target, passed as build argument TARGET'),
  args: z.array(buildArg).default([]),
  deployments: z.array(unikernelDeploymentSchema).default([]),
});

// `kind` may be left out and means docker; filling it in first lets the union
// report errors of the one branch that applies.
export const buildSchema = z.preprocess(
  (v) => (v !== null && typeof v === 'object' && !('kind' in v) ? { ...v, kind: 'docker' } : v),
  z.discriminatedUnion('kind', [dockerBuildSchema, unikernelBuildSchema]),
);

export const repoSchema = z.strictObject({
  owner: githubName,
  name: githubName,
  /** Where local mode reads it anonymously; default `<git base URL>/owner/name.git`. */
  cloneUrl: z
    .url({ protocol: /^(https?|file)$/, error: 'an http(s) or file URL' })
    .optional()
    .describe('where local mode reads it; default <git base URL>/owner/name.git'),
  builds: z.array(buildSchema).min(1),
});

export const flavourSchema = z.strictObject({
  name: z.string().regex(/^[a-z][-a-z0-9]{0,39}$/, 'a flavour name (lowercase letters, digits, -)'),
  baseUrl: z
    .url({ protocol: /^https?$/, error: 'an http(s) URL' })
    .describe('its web UI, linked from check runs'),
  selfBranch: branchName.optional().describe('the branch the deployer deploys itself from'),
  admins: z
    .array(z.string().regex(/^github:[A-Za-z0-9][-A-Za-z0-9]{0,38}$/, 'github:<login>'))
    .default([]),
  stagingRepo: imageRef
    .default('127.0.0.1:5000/staging')
    .describe('where per-pool images are pushed before the multi-arch target'),
  repos: z.array(repoSchema),
  unikernelHosts: z
    .record(sshDestination, unikernelHostSchema)
    .default({})
    .describe('per VM host (the ssh destination of unikernel deployments)'),
  upstreams: z
    .array(upstreamSchema)
    .default([])
    .describe('services running an image built elsewhere'),
});

export type Arch = z.infer<typeof archSchema>;
export type Service = z.infer<typeof serviceSchema>;
export type Deployment = z.infer<typeof deploymentSchema>;
export type DockerBuild = z.infer<typeof dockerBuildSchema>;
export type UnikernelDeployment = z.infer<typeof unikernelDeploymentSchema>;
export type Build = z.infer<typeof buildSchema>;
/** A build as written in a file: `kind` may be left out for docker builds. */
export type BuildInput =
  | (Omit<z.input<typeof dockerBuildSchema>, 'kind'> & { kind?: 'docker' })
  | z.input<typeof unikernelBuildSchema>;
export type Repo = z.infer<typeof repoSchema>;
export type Flavour = z.infer<typeof flavourSchema>;
export type ArgSource = z.infer<typeof argSourceSchema>;
export type UnikernelHost = z.infer<typeof unikernelHostSchema>;
export type Upstream = z.infer<typeof upstreamSchema>;
/** What a flavour file or builder provides before defaults are filled in. */
export type FlavourInput = Omit<z.input<typeof flavourSchema>, 'repos'> & {
  repos: (Omit<z.input<typeof repoSchema>, 'builds'> & { builds: BuildInput[] })[];
};
