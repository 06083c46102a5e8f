export const QUEUE_DESCRIPTIONS: Record<string, string> = {
  discover:
    "a job per 8 users (or one user to try again, or the whole institution): list each user's awards, download and store the certificates",
  download:
    "one certificate to try again later (handed off by its user's job), or a raw producer's: fetch, validate, store",
  maintenance: "the fleet's token keep-alive: one job per TOKEN_KEEPALIVE, whatever the number of workers",
  schedules:
    "recurring batches (certharvest schedule): one job per firing for the fleet, which submits that firing's batch",
};
