import {
  context,
  deployment,
  docker,
  flavour,
  repo,
  service,
  unikernel,
} from '../config/builders.js';

// The MirageOS flavour of the original ocurrent-deployer (deploy.mirageos.org), as of the
// upstream commit in test/fixtures/upstream/ocurrent-deployer.yml, which a test holds it to.

// Docker context of the machine the Docker services run on.
const chivesCaelumCiDev = context('chives.caelum.ci.dev');
// The VM host the mirage-www unikernels are deployed to (over ssh).
const mirageHost = 'root@147.75.84.37';

const wwwArgs = ['EXTRA_FLAGS=--tls=true --metrics --separate-networks'];

export default flavour({
  name: 'mirage',
  baseUrl: 'https://deploy.mirageos.org/',
  selfBranch: 'live-mirage',
  admins: [
    'github:avsm',
    'github:dra27',
    'github:hannesm',
    'github:moyodiallo',
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
    repo('mirage', 'mirage-www', [
      unikernel('Dockerfile', {
        target: 'hvt',
        args: wwwArgs,
        deployments: [{ branch: 'master', service: 'www', host: mirageHost }],
      }),
      // Built for xen too, but not deployed.
      unikernel('Dockerfile', { target: 'xen', args: ['EXTRA_FLAGS=--tls=true'] }),
      unikernel('Dockerfile', {
        target: 'hvt',
        args: wwwArgs,
        deployments: [{ branch: 'next', service: 'next', host: mirageHost }],
      }),
    ]),
    repo('ocurrent', 'mirage-ci', [
      docker('Dockerfile', {
        options: { includeGit: true },
        deployments: [
          deployment('live', 'ocurrent/mirage-ci:live', [
            service('infra_mirage-ci', chivesCaelumCiDev, 'ci.mirageos.org'),
          ]),
        ],
      }),
    ]),
    repo('ocurrent', 'ocurrent-deployer', [
      docker('Dockerfile', {
        deployments: [
          deployment('live-mirage', 'ocurrent/deploy.mirageos.org:live', [
            service('infra_mirage-deployer', chivesCaelumCiDev, 'deploy.mirageos.org'),
          ]),
        ],
      }),
    ]),
  ],
});
