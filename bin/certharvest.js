#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx, so a checkout works without a build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
const code = await main(process.argv.slice(2));
process.exitCode = code;
// Commands close their own servers and sockets; this only guards against a stray handle.
if (code !== 0) setTimeout(() => process.exit(code), 500).unref();
