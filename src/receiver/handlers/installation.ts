import type { Delivery } from '../routes.js';
import { requestDoctor } from '../../doctor/request.js';
import type { Queues } from '../../jobs/queues.js';

/**
 * The App was installed, uninstalled or suspended, or repositories were added to
 * or removed from an installation: check again which repositories it can see.
 */
export const onInstallationChange =
  (deps: { queues: Pick<Queues, 'control'> }) =>
  async (context: Delivery<'installation' | 'installation_repositories'>) => {
    await requestDoctor(deps.queues);
    context.log.info(
      { event: context.name, action: context.payload.action },
      'repository access changed: drift check requested',
    );
  };
