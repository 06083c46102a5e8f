export {
  createBreaker,
  createFleet,
  createFleetAdapter,
  assembleWebSession,
  breakerLoginGate,
  createFleetTokens,
  createSessionStore,
  createWebSession,
  fleetAdapterContext,
  sessionLock,
  type WebSessionParts,
  type CreateWebSessionOptions,
  type FleetAdapterOptions,
  type FleetOptions,
  type FleetParts,
  type Queues,
} from './fleet.ts';
export {
  bullWorkersLoop,
  STORING_JOBS_PER_REQUEST,
  type BullWorkers,
  type BullWorkersOptions,
} from './bull-workers.ts';
export {
  chromiumStarts,
  HEALTH_PROBES,
  healthProbes,
  lmsAnswers,
  outputTakesWrites,
  tokenStoreOpens,
  tokenWorksAgain,
  type HealthProbe,
  type ProbeParts,
} from './health-probes.ts';
export {
  NOTHING_TO_STOP,
  RunningLoops,
  startLoops,
  type Loop,
  type StopContext,
  type Stoppable,
} from './loops.ts';
export { DEFAULT_TUNING, type WorkerTuning } from './tuning.ts';
export {
  batchEndsLoop,
  batchWebhookLoop,
  createWorkerFleet,
  fleetMonitorLoop,
  followJobEvents,
  localFaultsLoop,
  progressLoop,
  sessionKeepAliveLoop,
  startupChecksLoop,
  type WorkerFleet,
} from './worker-loops.ts';
export {
  createFleetMetrics,
  healthServerLoop,
  PauseWatch,
  type HealthServing,
} from './worker-observability.ts';
