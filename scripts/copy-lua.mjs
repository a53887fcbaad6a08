// Build step: copies the Lua scripts next to the compiled modules that load them.
import { cpSync } from 'node:fs';

cpSync('src/redis/scripts', 'dist/redis/scripts', { recursive: true, filter: (p) => !p.endsWith('.ts') });
