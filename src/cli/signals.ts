/** The signals that ask certharvest to stop gracefully, handled in one place. */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** Resolves on the first SIGINT/SIGTERM; a second one exits at once. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      for (const s of STOP_SIGNALS) process.off(s, onSignal);
      for (const s of STOP_SIGNALS) {
        process.once(s, () => {
          console.error(`\n${s} again: exiting without waiting`);
          process.exit(130);
        });
      }
      resolve(signal);
    };
    for (const s of STOP_SIGNALS) process.on(s, onSignal);
  });
}
