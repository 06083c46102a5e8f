import type { AdapterContext } from '../module.ts';
import { BrightspaceClient } from './client.ts';
import type { ApiVersions } from './versions.ts';

/**
 * The REST client `inspect` and the doctor read with: the fleet's token and request budget, as
 * the worker's adapter has them, without the web session (the render is probed on its own).
 */
export function restClientOf(
  context: AdapterContext,
  versionOverrides: Partial<ApiVersions>,
): BrightspaceClient {
  return new BrightspaceClient({
    baseUrl: context.lmsUrl,
    tokens: context.tokens,
    logger: context.logger.child({ component: 'brightspace' }),
    versionOverrides,
    rateLimit: { shared: context.rateState },
  });
}
