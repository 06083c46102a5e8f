export {
  fail,
  failureOf,
  pass,
  rule,
  runChecks,
  skip,
  SkipCheck,
  warn,
  type Check,
  type CheckOutcome,
  type CheckResult,
  type FailureRule,
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
export { doctorAssembly } from './assembly.ts';
export {
  DoctorState,
  type DoctorAssembly,
  type DoctorInput,
  type DoctorParts,
  type DoctorSessionChoice,
} from './state.ts';
