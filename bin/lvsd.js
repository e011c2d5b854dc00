#!/usr/bin/env node
// The CLI is written in TypeScript and compiled to dist/ by `npm run build` (npm ci runs it too).
import('../dist/src/cli/main.js').then((m) => m.main(process.argv.slice(2))).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(err); process.exitCode = 70; },
);
