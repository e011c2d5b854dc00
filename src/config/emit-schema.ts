// Regenerate the published schema: node dist/src/config/emit-schema.js > deploy/lvsd.schema.json
import { jsonSchemaText } from './json-schema.js';

process.stdout.write(jsonSchemaText());
