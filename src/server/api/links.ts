/** A batch's path on the API. */
export const batchPath = (batchId: string): string => `/api/batches/${encodeURIComponent(batchId)}`;

/** The links of a batch's answers: itself and what can be read of it. */
export const batchLinks = (batchId: string): { self: string; failures: string; certificates: string } => {
  const self = batchPath(batchId);
  return { self, failures: `${self}/failures`, certificates: `${self}/certificates` };
};
