// Not expressed here: opam2web's 360-minute build timeout (the original builds it on
// registry.ci.dev's engine) and the monthly tarsnap backup over ssh on watch.ocaml.org.
import {
  context,
  deployment,
  docker,
  flavour,
  headOf,
  localEngine,
  repo,
  service,
  upstream,
} from '../config/builders.js';

// The ocaml.org flavour of the original ocurrent-deployer (deploy.ci.ocaml.org).

// Docker contexts: the machine each service runs on.
const v3bOcamlOrg = context('v3b.ocaml.org');
const v3cOcamlOrg = context('v3c.ocaml.org');
const docsCiOcamlOrg = context('docs.ci.ocaml.org');
const stagingDocsCiOcamlOrg = context('staging.docs.ci.ocaml.org');
const opamCiOcamlOrg = context('opam.ci.ocaml.org');
const checkCiOcamlOrg = context('check.ci.ocaml.org');
const getDuneBuild = context('get.dune.build');
const ci3OcamllabsIo = context('ci3.ocamllabs.io');
// opam2web (the original's docker_registry module): built on and pushed to registry.ci.dev,
// served from the two opam.ocaml.org machines.
const opam4OcamlOrg = context('opam-4.ocaml.org');
const opam5OcamlOrg = context('opam-5.ocaml.org');

const multiArch = ['linux-x86_64', 'linux-arm64'] as const;

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
  ],
  stagingRepo: 'ocurrentbuilder/staging',
  repos: [
    repo('ocaml-opam', 'opam2web', [
      docker('Dockerfile', {
        // Rebuilt whenever one of these heads moves.
        options: {
          argsFrom: [
            headOf('OPAM_REPO_GIT_SHA', 'ocaml/opam-repository', 'master'),
            headOf('BLOG_GIT_SHA', 'ocaml/platform-blog', 'master'),
            headOf('OPAM_GIT_SHA', 'ocaml/opam', 'master'),
          ],
        },
        deployments: [
          deployment('live', 'registry.ci.dev/opam.ocaml.org:live', [
            service('infra_opam_live', opam4OcamlOrg),
            service('infra_opam_live', opam5OcamlOrg),
          ]),
          deployment('live-staging', 'registry.ci.dev/opam.ocaml.org:staging', [
            service('infra_opam_staging', opam4OcamlOrg),
            service('infra_opam_staging', opam5OcamlOrg),
          ]),
        ],
      }),
    ]),
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
      // The ocaml.org website.
      docker('Dockerfile', {
        options: { includeGit: true },
        deployments: [
          deployment('main', 'ocurrent/v3.ocaml.org-server:live', [
            service('infra_www', v3bOcamlOrg, 'ocaml.org'),
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
            service('base-images_builder', ci3OcamllabsIo, 'images.ci.ocaml.org'),
          ]),
        ],
      }),
    ]),
    repo('ocurrent', 'ocaml-docs-ci', [
      docker('Dockerfile', {
        deployments: [
          deployment('live', 'ocurrent/docs-ci:live', [
            service('infra_docs-ci', docsCiOcamlOrg, 'docs.ci.ocaml.org'),
          ]),
        ],
      }),
      docker('docker/init/Dockerfile', {
        deployments: [
          deployment('live', 'ocurrent/docs-ci-init:live', [service('infra_init', docsCiOcamlOrg)]),
        ],
      }),
      docker('docker/storage/Dockerfile', {
        deployments: [
          deployment('live', 'ocurrent/docs-ci-storage-server:live', [
            service('infra_storage-server', docsCiOcamlOrg),
          ]),
        ],
      }),
      docker('Dockerfile', {
        deployments: [
          deployment('staging', 'ocurrent/docs-ci:staging', [
            service('infra_docs-ci', stagingDocsCiOcamlOrg, 'staging.docs.ci.ocamllabs.io'),
          ]),
        ],
      }),
      docker('docker/init/Dockerfile', {
        deployments: [
          deployment('staging', 'ocurrent/docs-ci-init:staging', [
            service('infra_init', stagingDocsCiOcamlOrg),
          ]),
        ],
      }),
      docker('docker/storage/Dockerfile', {
        deployments: [
          deployment('staging', 'ocurrent/docs-ci-storage-server:staging', [
            service('infra_storage-server', stagingDocsCiOcamlOrg),
          ]),
        ],
      }),
    ]),
    repo('ocurrent', 'opam-health-check', [
      docker('Dockerfile', {
        deployments: [
          deployment('live', 'ocurrent/opam-health-check:live', [
            service('infra_opam-health-check', checkCiOcamlOrg, 'check.ci.ocaml.org'),
            service('infra_opam-health-check-windows', checkCiOcamlOrg, 'windows.check.ci.dev'),
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
            service('infra_www', getDuneBuild, 'get.dune.build'),
          ]),
        ],
      }),
    ]),
  ],
  // Peertube is built upstream: pulled weekly and redeployed when its digest changes.
  upstreams: [
    upstream('chocobozzz/peertube:production-bookworm', 7, [
      service('infra_peertube', context('watch.ocaml.org')),
    ]),
  ],
});
