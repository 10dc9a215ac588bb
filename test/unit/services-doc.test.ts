import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveFlavour } from '../../src/config/flavour.js';
import { parseFlavour } from '../../src/config/load.js';
import { builtInFlavours } from '../../src/deployers/index.js';
import { renderServicesDoc } from '../../src/config/services-doc.js';

describe('doc/services.md', () => {
  it('is what `deployer docs` renders from the built-in flavours (run it and commit when this fails)', () => {
    const committed = readFileSync(join(import.meta.dirname, '../../doc/services.md'), 'utf8');
    const flavours = Object.keys(builtInFlavours).map((name) =>
      resolveFlavour({ flavourName: name }),
    );
    expect(renderServicesDoc(flavours)).toBe(committed);
  });

  it('lists builds, branches, images, services and unikernels', () => {
    const flavour = parseFlavour(
      {
        name: 'demo',
        baseUrl: 'http://localhost:3000',
        repos: [
          {
            owner: 'acme',
            name: 'web',
            builds: [
              {
                dockerfile: 'Dockerfile',
                archs: ['linux-x86_64', 'linux-arm64'],
                options: { includeGit: true, buildArgs: ['A=1'] },
                deployments: [
                  {
                    branch: 'live',
                    target: 'acme/web:live',
                    services: [
                      { name: 'web_app', context: 'web1', uri: 'web.example.org:8080' },
                      { name: 'web', kind: 'stack', compose: 'deploy/web.yml' },
                    ],
                  },
                ],
              },
              { dockerfile: 'Dockerfile.test' },
              {
                kind: 'unikernel',
                dockerfile: 'Dockerfile',
                target: 'hvt',
                deployments: [{ branch: 'main', service: 'www', host: 'vm1' }],
              },
            ],
          },
        ],
      },
      'demo',
    );
    expect(renderServicesDoc([flavour]).split('## demo')[1]).toBe(
      [
        '',
        '<http://localhost:3000>',
        '',
        '### acme/web',
        '',
        '- `Dockerfile` on arches: x86_64, arm64 (with .git, `A=1`)',
        '  - branch: `live`',
        '  - registered image: `acme/web:live`',
        '  - services:',
        '    - `web_app` @ <https://web.example.org:8080> (context `web1`)',
        '    - `web` (the local engine, stack from `deploy/web.yml`)',
        '',
        '- `Dockerfile.test` on arches: x86_64',
        '  - built only (no deployment)',
        '',
        '- unikernel `Dockerfile` for target `hvt`',
        '  - branch: `main` → unikernel `www` on `vm1`',
        '',
      ].join('\n'),
    );
  });
});
