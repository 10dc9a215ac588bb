import { describe, expect, it } from 'vitest';
import { MEDIA_TYPES, manifestListBody, refusedMessage } from '../../src/exec/registry.js';

const d1 = `sha256:${'1'.repeat(64)}`;
const d2 = `sha256:${'2'.repeat(64)}`;

describe('manifestListBody', () => {
  it('writes a Docker manifest list over Docker v2 manifests', () => {
    const { mediaType, body } = manifestListBody([
      {
        mediaType: MEDIA_TYPES.dockerManifest,
        digest: d1,
        size: 525,
        platform: { os: 'linux', architecture: 'amd64' },
      },
      {
        mediaType: MEDIA_TYPES.dockerManifest,
        digest: d2,
        size: 526,
        platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
      },
    ]);
    expect(mediaType).toBe('application/vnd.docker.distribution.manifest.list.v2+json');
    expect(body).toBe(`{
   "schemaVersion": 2,
   "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
   "manifests": [
      {
         "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
         "digest": "${d1}",
         "size": 525,
         "platform": {
            "architecture": "amd64",
            "os": "linux"
         }
      },
      {
         "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
         "digest": "${d2}",
         "size": 526,
         "platform": {
            "architecture": "arm64",
            "os": "linux",
            "variant": "v8"
         }
      }
   ]
}`);
  });

  it('writes an OCI index over OCI manifests, and over a mix', () => {
    const oci = {
      mediaType: MEDIA_TYPES.ociManifest,
      digest: d1,
      size: 400,
      platform: { os: 'linux', architecture: 'arm', variant: 'v7' },
    };
    const { mediaType, body } = manifestListBody([oci]);
    expect(mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(JSON.parse(body)).toEqual({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: d1,
          size: 400,
          platform: { architecture: 'arm', os: 'linux', variant: 'v7' },
        },
      ],
    });
    expect(body).toBe(
      '{\n   "schemaVersion": 2,\n   "mediaType": "application/vnd.oci.image.index.v1+json",\n' +
        '   "manifests": [\n      {\n         "mediaType": "application/vnd.oci.image.manifest.v1+json",\n' +
        `         "digest": "${d1}",\n         "size": 400,\n         "platform": {\n` +
        '            "architecture": "arm",\n            "os": "linux",\n            "variant": "v7"\n' +
        '         }\n      }\n   ]\n}',
    );
    const mixed = manifestListBody([
      oci,
      { ...oci, mediaType: MEDIA_TYPES.dockerManifest, digest: d2 },
    ]);
    expect(mixed.mediaType).toBe(MEDIA_TYPES.ociIndex);
    expect(JSON.parse(mixed.body).manifests.map((m: { mediaType: string }) => m.mediaType)).toEqual(
      [MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest],
    );
  });

  it('drops an empty variant and extra platform fields', () => {
    const { body } = manifestListBody([
      {
        mediaType: MEDIA_TYPES.dockerManifest,
        digest: d1,
        size: 1,
        platform: { os: 'linux', architecture: 'amd64', variant: '', extra: 1 } as never,
      },
    ]);
    expect(JSON.parse(body).manifests[0].platform).toEqual({ architecture: 'amd64', os: 'linux' });
  });
});

describe('refusedMessage', () => {
  const base = {
    registry: '127.0.0.1:5001',
    repository: 'app',
    action: 'push' as const,
    dockerConfigFile: '/srv/docker/config.json',
  };
  it('names what to provide when there are no credentials', () => {
    expect(refusedMessage({ ...base, status: 401 })).toBe(
      '127.0.0.1:5001 refused the push (401): no credentials for 127.0.0.1:5001 — provide them in ' +
        '/srv/docker/config.json (docker login 127.0.0.1:5001), in DEPLOYER_REGISTRY_AUTH_FILE, or ' +
        'with DEPLOYER_REGISTRY=127.0.0.1:5001, DEPLOYER_REGISTRY_USER and DEPLOYER_REGISTRY_PASSWORD_FILE',
    );
  });
  it('says which token service the credentials were kept from, and how to allow it', () => {
    const credentials = { username: 'bot', source: '/run/secrets/hub' };
    const withheld = { realm: 'http://auth.example.com/token', why: 'plain http to another host' };
    expect(refusedMessage({ ...base, status: 401, credentials, withheld })).toBe(
      '127.0.0.1:5001 refused the push (401): the credentials for 127.0.0.1:5001 were not sent to ' +
        'the token service it named, http://auth.example.com/token (plain http to another host) — ' +
        "if that is 127.0.0.1:5001's own token service, list auth.example.com in " +
        'DEPLOYER_REGISTRY_TOKEN_HOSTS (https only)',
    );
  });
  it('names the file the rejected credentials came from, never the password', () => {
    const credentials = { username: 'bot', password: 'pw-xyz', source: '/run/secrets/hub' };
    const rejected = refusedMessage({ ...base, status: 401, credentials });
    expect(rejected).toContain('user bot (from /run/secrets/hub)');
    expect(rejected).not.toContain('pw-xyz');
    expect(refusedMessage({ ...base, status: 403, credentials })).toMatch(
      /refused the push \(403\): user bot .* may not push 127\.0\.0\.1:5001\/app/,
    );
  });
});
