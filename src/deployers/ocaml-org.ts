import {
  context,
  deployment,
  docker,
  flavour,
  headOf,
  imageDigest,
  localEngine,
  repo,
  service,
  upstream,
} from '../config/builders.js';

// The ocaml.org flavour of the original ocurrent-deployer (deploy.ci.ocaml.org), as of the
// upstream commit in test/fixtures/upstream/ocurrent-deployer.yml, which a test holds it to.

// Docker contexts: the machine each service runs on.
const v3bOcamlOrg = context('v3b.ocaml.org');
const v3cOcamlOrg = context('v3c.ocaml.org');
const docsCiOcamlOrg = context('docs.ci.ocaml.org');
const stagingDocsCiOcamllabsIo = context('staging.docs.ci.ocamllabs.io');
const opamCiOcamlOrg = context('opam.ci.ocaml.org');
const opam4OcamlOrg = context('opam-4.ocaml.org');
const opam5OcamlOrg = context('opam-5.ocaml.org');
const checkCiOcamlOrg = context('check.ci.ocaml.org');
const getDuneBuild = context('get.dune.build');
const chivesCaelumCiDev = context('chives.caelum.ci.dev');
const watchOcamlOrg = context('watch.ocaml.org');

const multiArch = ['linux-x86_64', 'linux-arm64'] as const;

/** The docs-ci images of one branch, on one host. */
const docsCi = (branch: string, tag: string, host: typeof docsCiOcamlOrg, uri: string) => [
  docker('Dockerfile', {
    deployments: [
      deployment(branch, `ocurrent/docs-ci:${tag}`, [service('infra_docs-ci', host, uri)]),
    ],
  }),
  docker('docker/init/Dockerfile', {
    deployments: [
      deployment(branch, `ocurrent/docs-ci-init:${tag}`, [service('infra_init', host)]),
    ],
  }),
  docker('docker/storage/Dockerfile', {
    deployments: [
      deployment(branch, `ocurrent/docs-ci-storage-server:${tag}`, [
        service('infra_storage-server', host),
      ]),
    ],
  }),
];

/** opam2web's image of one branch, served by both opam.ocaml.org machines. */
const opamOcamlOrg = (branch: string, tag: string, name: string) =>
  deployment(branch, `ocurrent/opam.ocaml.org:${tag}`, [
    service(name, opam4OcamlOrg, 'opam.ocaml.org'),
    service(name, opam5OcamlOrg, 'staging.opam.ocaml.org'),
  ]);

export default flavour({
  name: 'ocaml-org',
  baseUrl: 'https://deploy.ci.ocaml.org',
  selfBranch: 'live-ocaml-org',
  admins: [
    'github:AltGr',
    'github:avsm',
    'github:dra27',
    'github:moyodiallo',
    'github:mtelvers',
    'github:punchagan',
    'github:rjbou',
    'github:samoht',
    'github:shonfeder',
    'github:talex5',
    'github:tmcgilchrist',
    'github:cuihtlauac',
    'github:maiste',
  ],
  stagingRepo: 'ocurrentbuilder/staging',
  repos: [
    repo('ocurrent', 'ocurrent-deployer', [
      docker('Dockerfile', {
        deployments: [
          deployment('live-ocaml-org', 'ocurrent/ci.ocamllabs.io-deployer:live-ocaml-org', [
            service('infra_deployer', localEngine, 'deploy.ci.ocaml.org'),
          ]),
        ],
      }),
    ]),
    repo('ocaml', 'ocaml.org', [
      // The two production instances of the ocaml.org website.
      docker('Dockerfile', {
        options: { includeGit: true },
        deployments: [
          deployment('main', 'ocurrent/v3.ocaml.org-server:live', [
            service('infra_www1', v3bOcamlOrg, 'ocaml.org'),
            service('infra_www2', v3bOcamlOrg, 'ocaml.org'),
          ]),
        ],
      }),
      // Its staging branch.
      docker('Dockerfile', {
        options: { includeGit: true },
        deployments: [
          deployment('staging', 'ocurrent/v3.ocaml.org-server:staging', [
            service('infra_www', v3cOcamlOrg, 'staging.ocaml.org'),
          ]),
        ],
      }),
    ]),
    repo('ocurrent', 'docker-base-images', [
      docker('Dockerfile', {
        deployments: [
          deployment('live', 'ocurrent/base-images:live', [
            service('infra_base-images', chivesCaelumCiDev, 'images.ci.ocaml.org'),
          ]),
        ],
      }),
    ]),
    repo('ocurrent', 'ocaml-docs-ci', [
      ...docsCi('live', 'live', docsCiOcamlOrg, 'docs.ci.ocaml.org'),
      ...docsCi('staging', 'staging', stagingDocsCiOcamllabsIo, 'staging.docs.ci.ocamllabs.io'),
    ]),
    repo('ocurrent', 'opam-health-check', [
      docker('Dockerfile', {
        deployments: [
          deployment('live', 'ocurrent/opam-health-check:live', [
            service('infra_opam-health-check', checkCiOcamlOrg, 'check.ci.ocaml.org'),
            service('infra_opam-health-check-windows', checkCiOcamlOrg, 'windows.check.ci.dev'),
            service('infra_opam-health-check-dune', checkCiOcamlOrg, 'dune.check.ci.dev'),
            service('infra_opam-health-check-freebsd', checkCiOcamlOrg, 'freebsd.check.ci.dev'),
          ]),
        ],
      }),
    ]),
    repo('ocurrent', 'opam-repo-ci', [
      docker('Dockerfile', {
        archs: [...multiArch],
        deployments: [
          deployment('live', 'ocurrent/opam-repo-ci:live', [
            service('opam-repo-ci_opam-repo-ci', opamCiOcamlOrg, 'opam-repo.ci.ocaml.org'),
          ]),
        ],
      }),
      docker('Dockerfile.web', {
        archs: [...multiArch],
        deployments: [
          deployment('live-web', 'ocurrent/opam-repo-ci-web:live', [
            service('opam-repo-ci_opam-repo-ci-web', opamCiOcamlOrg, 'opam.ci.ocaml.org'),
          ]),
        ],
      }),
    ]),
    repo('ocaml-dune', 'binary-distribution', [
      docker('Dockerfile', {
        deployments: [
          deployment('main', 'ocurrent/dune-binary-distribution:live', [
            service('infra_www', getDuneBuild, 'preview.dune.build'),
          ]),
        ],
      }),
      docker('Dockerfile', {
        deployments: [
          deployment('staging', 'ocurrent/dune-binary-distribution:staging', [
            service('infra_staging', getDuneBuild, 'staging-preview.dune.build'),
          ]),
        ],
      }),
    ]),
    repo('ocaml-opam', 'opam2web', [
      docker('Dockerfile', {
        // Rebuilt whenever one of these heads, or the opam archive image, moves.
        options: {
          argsFrom: [
            headOf('OPAM_REPO_GIT_SHA', 'ocaml/opam-repository', 'master'),
            headOf('BLOG_GIT_SHA', 'ocaml/platform-blog', 'master'),
            headOf('OPAM_GIT_SHA', 'ocaml/opam', 'master'),
            imageDigest('OPAM_ARCHIVE_SHA', 'ocaml/opam:archive'),
          ],
        },
        deployments: [
          opamOcamlOrg('live', 'live', 'infra_opam_live'),
          opamOcamlOrg('live-staging', 'staging', 'infra_opam_staging'),
        ],
      }),
    ]),
  ],
  // Peertube is built upstream: pulled weekly and redeployed when its digest changes.
  upstreams: [
    upstream('chocobozzz/peertube:production-bookworm', 7, [
      service('infra_peertube', watchOcamlOrg),
    ]),
  ],
});
