export {
  fail,
  pass,
  runChecks,
  skip,
  warn,
  type Check,
  type CheckOutcome,
  type CheckResult,
  type RunChecksOptions,
} from './check.ts';
export {
  doctorChecksFor,
  FIRST_CHECKS,
  LAST_CHECKS,
  parseUserReference,
  runDoctor,
  type DoctorOptions,
} from './doctor.ts';
export { formatJson, formatResult, formatSummary, LINE_WIDTH, wrap, type DoctorReport } from './report.ts';
export { DoctorState, type DoctorInput } from './state.ts';
