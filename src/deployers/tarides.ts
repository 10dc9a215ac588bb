import { context, deployment, docker, flavour, repo, service } from '../config/builders.js';

// The Tarides flavour of the original ocurrent-deployer (deploy.ci.dev), as of the upstream
// commit in test/fixtures/upstream/ocurrent-deployer.yml, which a test holds it to.

// Docker contexts: the machine each service runs on.
const ocamlCiDev = context('ocaml.ci.dev');
const chivesCaelumCiDev = context('chives.caelum.ci.dev');

const multiArch = ['linux-x86_64', 'linux-arm64'] as const;

export default flavour({
  name: 'tarides',
  baseUrl: 'https://deploy.ci.dev/',
  selfBranch: 'live-ci3',
  admins: [
    'github:avsm',
    'github:dra27',
    'github:moyodiallo',
    'github:MisterDA',
    'github:mtelvers',
    'github:punchagan',
    'github:samoht',
    'github:shonfeder',
    'github:talex5',
    'github:tmcgilchrist',
    'github:cuihtlauac',
  ],
  stagingRepo: 'ocurrentbuilder/staging',
  repos: [
    repo('ocurrent', 'ocurrent-deployer', [
      docker('Dockerfile', {
        deployments: [
          deployment('live-ci3', 'ocurrent/ci.ocamllabs.io-deployer:live-ci3', [
            service('infra_tarides-deployer', chivesCaelumCiDev, 'deploy.ci.dev'),
          ]),
        ],
      }),
    ]),
    repo('ocurrent', 'ocaml-ci', [
      docker('Dockerfile', {
        archs: [...multiArch],
        options: { includeGit: true },
        deployments: [
          deployment('live-engine', 'ocurrent/ocaml-ci-service:live', [
            service('ocaml-ci_ci', ocamlCiDev, 'ocaml.ci.dev:8100'),
          ]),
        ],
      }),
      docker('Dockerfile.gitlab', {
        archs: [...multiArch],
        deployments: [
          deployment('live-engine', 'ocurrent/ocaml-ci-gitlab-service:live', [
            service('ocaml-ci_gitlab', ocamlCiDev, 'ocaml.ci.dev:8200'),
          ]),
        ],
      }),
      docker('Dockerfile.web', {
        archs: [...multiArch],
        deployments: [
          deployment('live-www', 'ocurrent/ocaml-ci-web:live', [
            service('ocaml-ci_web', ocamlCiDev, 'ocaml.ci.dev'),
          ]),
        ],
      }),
    ]),
    repo('ocurrent', 'ocluster', [
      docker('Dockerfile', {
        archs: [...multiArch],
        options: { includeGit: true },
        deployments: [deployment('live-scheduler', 'ocurrent/ocluster-scheduler:live')],
      }),
      docker('Dockerfile.worker', {
        archs: ['linux-x86_64', 'linux-arm64', 'linux-ppc64', 'linux-s390x', 'linux-riscv64'],
        options: { includeGit: true, ulimits: ['stack=1000000000:1000000000'] },
        deployments: [deployment('live-worker', 'ocurrent/ocluster-worker:live')],
      }),
      docker('Dockerfile.worker.alpine', {
        archs: [...multiArch],
        options: { includeGit: true },
        deployments: [deployment('live-worker', 'ocurrent/ocluster-worker:alpine')],
      }),
    ]),
    repo('ocurrent', 'clarke', [
      docker('Dockerfile', {
        archs: [...multiArch],
        options: { includeGit: true },
        deployments: [deployment('live', 'ocurrent/clarke:live')],
      }),
    ]),
    repo('ocaml-bench', 'sandmark-nightly', [
      docker('Dockerfile', {
        options: { includeGit: true },
        deployments: [
          deployment('main', 'ocurrent/sandmark-nightly:live', [
            service('infra_sandmark', chivesCaelumCiDev, 'sandmark.tarides.com'),
          ]),
        ],
      }),
    ]),
    repo('ocurrent', 'solver-service', [
      docker('Dockerfile', {
        archs: [...multiArch],
        options: { includeGit: true },
        deployments: [deployment('live', 'ocurrent/solver-service:live')],
      }),
      docker('Dockerfile', {
        archs: [...multiArch],
        options: { includeGit: true },
        deployments: [deployment('staging', 'ocurrent/solver-service:staging')],
      }),
    ]),
    repo('ocurrent', 'ocurrent-observer', [
      docker('Dockerfile', {
        archs: ['linux-riscv64'],
        options: { includeGit: true },
        deployments: [deployment('live', 'ocurrent/ocurrent-observer:live')],
      }),
    ]),
    repo('ocurrent', 'ocurrent-configurator', [
      docker('Dockerfile', {
        archs: ['linux-riscv64'],
        options: { includeGit: true },
        deployments: [deployment('live', 'ocurrent/ocurrent-configurator:live')],
      }),
    ]),
  ],
});
