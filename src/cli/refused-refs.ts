import { isWellFormedRef, USER_REF_KINDS, type UserRefKind } from '../queue/index.ts';

/**
 * The likely fix when every reference of a submission was refused: read from what the refused
 * references look like (the batch layer decided they are malformed; this only explains it).
 */
export function refusedRefsHint(refs: readonly string[], by: UserRefKind): string {
  const share = (test: (ref: string) => boolean) => refs.filter(test).length / Math.max(1, refs.length);
  const others = USER_REF_KINDS.filter((k) => k !== by)
    .map((k) => `--by ${k}`)
    .join(' or ');
  if (share((r) => /[,;\t]/.test(r)) >= 0.5)
    return (
      'they look like whole CSV rows: give the file a header row naming the column to use ' +
      `(${USER_REF_KINDS.join(', ')}) and pass --by with that name`
    );
  if (share((r) => /\s/.test(r)) >= 0.5)
    return (
      'they hold spaces: full names, or whole lines? A reference is one id or user name per line ' +
      `(--by ${by}; ${others} if the file holds those), or a CSV whose header names the --by column`
    );
  if (share((r) => /[/\\]/.test(r)) >= 0.5)
    return 'they hold slashes: paths or web addresses? A reference is an id or a user name, not a link';
  if (share((r) => r.length > 64) >= 0.5)
    return `they are much longer than an id or user name: is this the right file or column? (--by ${by}; ${others} if the file holds those)`;
  // Refused as this LMS's user ids, yet well-formed user names: the --by was forgotten.
  if (by === 'userId' && refs.length > 0 && refs.every((r) => isWellFormedRef('userName', r)))
    return `they are not user ids of this LMS: user names? Submit them with --by userName (or --by orgDefinedId)`;
  return `check that the file holds ${by} values (${others} for other kinds of reference)`;
}
