// Loaded with --import: records every ES module URL a process resolves under node_modules/@opentelemetry
// into the file named by IMPORT_LOG (a test checks that tracing left off loads none of them).
import { register } from 'node:module';

register('./import-log-hooks.mjs', import.meta.url);
