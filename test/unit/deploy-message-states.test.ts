import { describe, expect, it } from 'vitest';
import { context, deployment, docker, service, unikernel } from '../../src/config/builders.js';
import { parseFlavour } from '../../src/config/load.js';
import type { Build } from '../../src/config/schema.js';
import {
  byDeployment,
  DEPLOY_STATES as S,
  deploymentNames,
  endState,
  messageAction,
  type DeployState,
  type SavedMessage,
} from '../../src/plan/deploy-message.js';
import { deployUnits } from '../../src/plan/deploy-units.js';

const LIVE = 'registry.example.com/acme/web:live';
const MIRROR = 'registry.example.com/acme/web:mirror';
const D1 = `sha256:${'1'.repeat(64)}`;

const flavour = parseFlavour(
  {
    name: 'demo',
    baseUrl: 'http://x',
    repos: [
      {
        owner: 'acme',
        name: 'web',
        builds: [
          docker('Dockerfile', {
            deployments: [
              deployment('live', LIVE, [service('web_a', context('hostA')), service('web_b')]),
              deployment('live', MIRROR, [service('mirror', context('hostA'))]),
              deployment('release', 'registry.example.com/acme/web:release', [service('rel')]),
            ],
          }),
          unikernel('Dockerfile', {
            target: 'hvt',
            deployments: [
              { branch: 'live', service: 'www', host: 'vmhost' },
              { branch: 'next', service: 'next', host: 'vmhost' },
            ],
          }),
        ],
      },
    ],
  },
  'test',
);
const [web, mirage] = flavour.repos[0].builds as [Build, Build];

/** What was saved after reporting `state` (channel and ts as a Web API post leaves them). */
const saved = (state: DeployState, ts = '1700000000.000100'): SavedMessage => ({
  label: state.label,
  phase: state.phase,
  step: state.step,
  channel: 'C0123456789',
  ts,
});

describe('deploymentNames', () => {
  it('names a docker deployment by its target tag and a unikernel by its service, as the original keys them', () => {
    expect(deploymentNames(web, 'live')).toEqual([LIVE, MIRROR]);
    expect(deploymentNames(web, 'release')).toEqual(['registry.example.com/acme/web:release']);
    expect(deploymentNames(mirage, 'live')).toEqual(['www']);
    expect(deploymentNames(web, 'main')).toEqual([]);
  });
});

describe('byDeployment', () => {
  it("groups a deploy's units under their deployment's name, in order", () => {
    const staged = [{ pool: 'linux-x86_64', ref: 'registry.example.com/staging:x', digest: D1 }];
    const groups = byDeployment(deployUnits(web, 'live', undefined, staged));
    expect(groups.map(([name, units]) => [name, units.map((u) => u.name)])).toEqual([
      [LIVE, ['web_a', 'web_b']],
      [MIRROR, ['mirror']],
    ]);
    expect(byDeployment(deployUnits(mirage, 'live', undefined, staged))[0][0]).toBe('www');
  });
});

describe('endState', () => {
  it('is deployed when a unit was updated (or already ran it), whatever its neighbours', () => {
    expect(endState([{}, { pinned: true }])).toEqual(S.deployed);
    expect(endState([{ superseded: true }, {}])).toEqual(S.deployed);
  });

  it('names every failure', () => {
    expect(endState([{ failure: 'a: Deploy failed: x' }, {}, { failure: 'b: y' }]).label).toBe(
      'failed: a: Deploy failed: x; b: y',
    );
  });

  it('says why nothing was deployed', () => {
    expect(endState([{ pinned: true }])).toEqual(S.pinned);
    expect(endState([{ superseded: true }, { pinned: true }])).toEqual(S.superseded);
  });

  it('cuts a long reason short (the job page has all of it)', () => {
    const label = S.failed('x'.repeat(500)).label;
    expect(label.length).toBe('failed: '.length + 200);
    expect(label.endsWith('…')).toBe(true);
  });
});

describe('messageAction', () => {
  it('posts the first state of a deployment', () => {
    expect(messageAction(undefined, S.building, true)).toBe('post');
    expect(messageAction(undefined, S.pushing, false)).toBe('post');
  });

  it('edits the message as the state changes, through to its end (Web API)', () => {
    expect(messageAction(saved(S.building), S.pushing, true)).toBe('update');
    expect(messageAction(saved(S.pushing), S.deploying, true)).toBe('update');
    expect(messageAction(saved(S.deploying), S.deployed, true)).toBe('update');
    expect(messageAction(saved(S.deploying), S.failed('x'), true)).toBe('update');
  });

  it('leaves an unchanged state alone (the pools of one build all report building)', () => {
    expect(messageAction(saved(S.building), S.building, true)).toBe('none');
    expect(messageAction(saved(S.deployed), S.deployed, false)).toBe('none');
  });

  it('posts again when an earlier post got no ts (Slack was down)', () => {
    expect(messageAction({ ...saved(S.building), ts: undefined }, S.pushing, true)).toBe('post');
  });

  it('posts once per phase through an incoming webhook, which cannot edit', () => {
    expect(messageAction(saved(S.building), S.pushing, false)).toBe('record');
    expect(messageAction(saved(S.pushing), S.deploying, false)).toBe('record');
    expect(messageAction(saved(S.deploying), S.waitingForConfirmation, false)).toBe('post');
    expect(messageAction(saved(S.waitingForConfirmation), S.deploying, false)).toBe('post');
    expect(messageAction(saved(S.deploying), S.deployed, false)).toBe('post');
  });

  it('never lets a build reopen a deployment that ended', () => {
    // One pool failed; another pool's build starts later, or is cancelled.
    expect(messageAction(saved(S.buildFailed('x')), S.building, true)).toBe('none');
    expect(messageAction(saved(S.buildFailed('x')), S.buildCancelled('y'), true)).toBe('none');
    expect(messageAction(saved(S.deployed), S.building, true)).toBe('none');
    // A deploy after a failure (a rebuild, a retried job) does.
    expect(messageAction(saved(S.buildFailed('x')), S.pushing, true)).toBe('update');
    expect(messageAction(saved(S.failed('x')), S.pushing, true)).toBe('update');
  });

  it("keeps a re-run deploy job's first state from undoing its later ones", () => {
    // A job waiting for an admin or a lock runs again from its start every few seconds.
    expect(messageAction(saved(S.waitingForConfirmation), S.pushing, true)).toBe('none');
    expect(messageAction(saved(S.deploying), S.pushing, true)).toBe('none');
    expect(messageAction(saved(S.waitingForConfirmation), S.deploying, true)).toBe('update');
  });
});
