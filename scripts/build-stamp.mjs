// Marks dist/ as built from the sources as they are now: bin/certharvest.js runs dist/ only while
// no source is newer than this stamp.
import { writeFileSync } from 'node:fs';

writeFileSync(new URL('../dist/.build-stamp', import.meta.url), `${new Date().toISOString()}\n`);
