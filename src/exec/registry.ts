/** The registry client (src/exec/registry/), for importers that name one module. */
export { RegistryClient } from './registry/client.js';
export { RegistryError, refusedMessage } from './registry/errors.js';
export { manifestListBody } from './registry/manifest-list.js';
export { MEDIA_TYPES, type ManifestListChild } from './registry/types.js';
