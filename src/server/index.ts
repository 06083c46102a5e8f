export { startBoardServer, type BoardServer, type BoardServerOptions } from './board-server.ts';
export { basicAuth } from './basic-auth.ts';
export { createMetricsRegistry } from './metrics.ts';
