export { FleetBreaker, type Trip } from './breaker.ts';
export { OutageClock } from './outage-clock.ts';
export { PAUSE_REASONS, type PauseReason, type PauseRecord } from './pause-reason.ts';
export {
  isLocalReason,
  LOCAL_REASONS,
  LocalFaults,
  workersOutOfService,
  type LocalFaultHooks,
  type LocalFaultRecord,
} from './local-faults.ts';
