export {
  AWARDS_PAGE_LIMIT,
  BrightspaceClient,
  certificatesOnly,
  isCertificate,
  type BrightspaceClientOptions,
} from './client.ts';
export type {
  AwardKind,
  BrightspaceUser,
  CertificatePdf,
  IssuedAward,
  ItemResult,
  ListAwardsOptions,
  UserReference,
  WhoAmI,
} from './types.ts';
export { compareVersions, KNOWN_VERSIONS, pickVersions, type ApiVersions, type Product } from './versions.ts';
export { createBrightspaceAdapter, renderUrl, type BrightspaceAdapterOptions } from './adapter.ts';
