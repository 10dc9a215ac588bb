import { describe, expect, it } from 'vitest';
import { parseFlavour } from '../../src/config/load.js';
import { buildRepoIndex } from '../../src/config/repo-index.js';
import { deploymentBranches, protectionDrift } from '../../src/doctor/protection-drift.js';

const APP_ID = 77;
const branch = (checks: { context: string; appId: number | null }[] | undefined) => ({
  repo: 'acme/web',
  branch: 'live',
  checks,
});

describe('protectionDrift', () => {
  it('is quiet when the branch requires deployability from this App or from any source', () => {
    for (const appId of [APP_ID, null, -1])
      expect(protectionDrift([branch([{ context: 'deployability', appId }])], APP_ID)).toEqual([]);
  });

  it('warns when the branch is not protected or requires other checks only', () => {
    for (const checks of [[], [{ context: 'ci/build', appId: null }]])
      expect(protectionDrift([branch(checks)], APP_ID)).toEqual([
        {
          kind: 'check-not-required',
          subject: 'acme/web live',
          message:
            'live of acme/web deploys commits that did not build: its protection does not require the "deployability" check',
        },
      ]);
  });

  it("warns when the required deployability check is another App's", () => {
    const [w] = protectionDrift([branch([{ context: 'deployability', appId: 12 }])], APP_ID);
    expect(w.kind).toBe('check-not-required');
    expect(w.message).toContain('requires "deployability" from another App (id 12)');
  });

  it('matches the check name exactly', () => {
    const checks = [{ context: 'Deployability', appId: null }];
    expect(protectionDrift([branch(checks)], APP_ID)).toHaveLength(1);
  });

  it('asks once per repository for the permission when protection cannot be read', () => {
    const drift = protectionDrift(
      [branch(undefined), { ...branch(undefined), branch: 'staging' }],
      APP_ID,
    );
    expect(drift).toEqual([
      {
        kind: 'protection-unreadable',
        subject: 'acme/web',
        message: expect.stringContaining('needs the "administration: read" permission'),
      },
    ]);
  });
});

describe('deploymentBranches', () => {
  it("lists each branch a repository's docker and unikernel builds deploy from, once", () => {
    const flavour = parseFlavour(
      {
        name: 'demo',
        baseUrl: 'http://x',
        repos: [
          {
            owner: 'acme',
            name: 'web',
            builds: [
              {
                dockerfile: 'Dockerfile',
                deployments: [
                  { branch: 'live', target: 'acme/web:live', services: [{ name: 'web' }] },
                  { branch: 'staging', target: 'acme/web:staging' },
                ],
              },
              {
                dockerfile: 'Dockerfile.other',
                deployments: [{ branch: 'live', target: 'acme/other:live' }],
              },
              {
                kind: 'unikernel',
                dockerfile: 'Dockerfile.mirage',
                target: 'hvt',
                deployments: [{ branch: 'mirage', service: 'www', host: 'vm' }],
              },
            ],
          },
          { owner: 'acme', name: 'lib', builds: [{ dockerfile: 'Dockerfile' }] },
        ],
      },
      'test',
    );
    const index = buildRepoIndex(flavour);
    expect(deploymentBranches(index.get('acme/web')!)).toEqual(['live', 'staging', 'mirage']);
    expect(deploymentBranches(index.get('acme/lib')!)).toEqual([]);
  });
});
