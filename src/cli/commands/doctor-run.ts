/** What `certharvest doctor` does, loaded when it runs (its options and help: doctor.ts). */
import {
  formatJson,
  formatResult,
  formatSummary,
  parseUserReference,
  runDoctor,
} from '../../doctor/index.ts';
import { UsageError } from '../../errors/index.ts';
import { EXIT } from '../exit-codes.ts';

export interface DoctorCommandOptions {
  user?: string;
  issuedId?: string;
  json?: boolean;
}

export async function run(opts: DoctorCommandOptions): Promise<void> {
  const user = opts.user === undefined ? undefined : parseUserReference(opts.user);
  if (opts.user !== undefined && !user) {
    throw new UsageError(
      `--user "${opts.user}" is not valid: expected a UserId, userName:NAME or orgDefinedId:ID`,
    );
  }
  let issuedId: number | undefined;
  if (opts.issuedId !== undefined) {
    if (!/^\d{1,15}$/.test(opts.issuedId)) {
      throw new UsageError(`--issued-id: expected an IssuedId (a whole number), got "${opts.issuedId}"`);
    }
    if (!user) {
      throw new UsageError(
        "--issued-id needs --user: the certificate's owner, whose awards listing gives the org unit of its render URL",
      );
    }
    issuedId = Number(opts.issuedId);
  }
  const report = await runDoctor({
    ...(user ? { user } : {}),
    ...(issuedId !== undefined ? { issuedId } : {}),
    ...(opts.json ? {} : { onResult: (result) => console.log(formatResult(result)) }),
  });
  console.log(opts.json ? formatJson(report) : `\n${formatSummary(report)}`);
  process.exitCode = report.ok ? EXIT.OK : EXIT.SOME_FAILED;
}
