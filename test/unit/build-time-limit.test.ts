import { describe, expect, it } from 'vitest';
import { docker, repo, unikernel } from '../../src/config/builders.js';
import { parseFlavour } from '../../src/config/load.js';
import { buildRepoIndex, type RepoEntry } from '../../src/config/repo-index.js';
import { buildTimeLimit } from '../../src/jobs/build.js';

const entry = buildRepoIndex(
  parseFlavour(
    {
      name: 'demo',
      baseUrl: 'http://x',
      repos: [
        repo('acme', 'web', [
          docker('Dockerfile', { archs: ['linux-x86_64', 'linux-arm64'] }),
          docker('Dockerfile.all', { archs: ['linux-x86_64', 'linux-riscv64'] }),
          unikernel('mirage/Dockerfile', { target: 'hvt' }),
        ]),
      ],
    },
    'test',
  ),
).get('acme/web') as RepoEntry;
const [plain, withRiscv, mirage] = entry.specs;

describe('buildTimeLimit', () => {
  it('doubles the limit for every pool of a build that includes riscv64, as the original', () => {
    expect(buildTimeLimit(50, plain)).toBe(50);
    expect(buildTimeLimit(50, withRiscv)).toBe(100);
    expect(buildTimeLimit(50, mirage)).toBe(50);
  });
});
