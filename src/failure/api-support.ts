import { CertharvestError } from '../errors/index.ts';

/** DOWNLOAD_STRATEGY=api, but this LMS does not serve certificates through its API (the bearer PDF route). */
export class ApiRouteMissingError extends CertharvestError {
  readonly retryable = false;

  constructor() {
    super(
      'API_ROUTE_MISSING',
      'DOWNLOAD_STRATEGY=api but this LMS does not serve certificates through its API (the bearer PDF route answered 404 or is not offered); use auto or browser',
    );
  }
}

/**
 * Whether the tenant serves the bearer PDF route, learnt from the first answer and kept for
 * the life of the process (then asked again after `recheckAfterMs`, in case the tenant changes).
 */
export class ApiSupportMemo {
  #supported: boolean | undefined;
  #learntAt = 0;

  constructor(private readonly recheckAfterMs = 6 * 3600_000) {}

  worthTrying(): boolean {
    if (this.#supported === undefined) return true;
    if (Date.now() - this.#learntAt > this.recheckAfterMs) return true;
    return this.#supported;
  }

  record(supported: boolean): void {
    this.#supported = supported;
    this.#learntAt = Date.now();
  }

  get known(): boolean | undefined {
    return this.#supported;
  }
}
