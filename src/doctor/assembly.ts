/**
 * How the doctor makes the product's parts: with the composition root's builders
 * (src/assembly), as a worker makes them, with the differences a diagnostic run needs — a
 * read-only breaker (no queues), tokens that never heal through a web login, and a web session
 * on a store and behind a gate of the doctor's choosing. Handed to the checks through the state
 * (`DoctorState.assembly`): the LMS folders' steps build nothing themselves.
 */
import {
  assembleWebSession,
  createBreaker,
  createFleetTokens,
  createSessionStore,
  fleetAdapterContext,
} from '../assembly/fleet.ts';
import type { DoctorAssembly } from './state.ts';

export const doctorAssembly: DoctorAssembly = {
  // Read-only: the doctor never pauses, resumes or holds the fleet (no queues to touch). It is made
  // from the configuration as far as it parses: the fleet's state is read even without an LMS.
  breaker: (config, redis, logger) => createBreaker(config, redis, undefined, logger),
  // No web session: a refused refresh token must show here, not be healed through a web login,
  // which would post the service user's password a second time in the run.
  tokens: (config, redis, logger) => createFleetTokens(config, redis, logger),
  // The fleet's request budget (the LMS counts it per app: the doctor spends from the fleet's).
  adapterContext: (config, redis, logger, tokens) =>
    fleetAdapterContext({ config, redis, logger, tokens, webSession: undefined }),
  sessionStore: (config, redis, keyPrefix) => createSessionStore(config, redis, keyPrefix),
  webSession: (config, redis, logger, choice) => assembleWebSession({ config, redis, logger, ...choice }),
};
