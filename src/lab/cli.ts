// Entry of `npm run lab`. The CLI is never a test file, even when a test runs it: node --test marks
// its children with NODE_TEST_CONTEXT, which the lab reads (at import) to hook into the runner.
delete process.env.NODE_TEST_CONTEXT;
await import('./cli-main.js');
export {};
