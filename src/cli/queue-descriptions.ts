export const QUEUE_DESCRIPTIONS: Record<string, string> = {
  discover: 'one job per user: resolve the user, list issued awards, queue certificate downloads',
  download: 'one job per certificate: fetch the PDF, validate it, store it with a sidecar',
  maintenance: "the fleet's token keep-alive: one job per TOKEN_KEEPALIVE, whatever the number of workers",
  schedules:
    "recurring batches (certharvest schedule): one job per firing for the fleet, which submits that firing's batch",
};
